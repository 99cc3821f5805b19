"""A recurrent layer one step at a time: the update of `nn.RNN` from scratch, and what the state remembers.

At every step the new hidden state mixes the previous state with the latest input,
h_t = f(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), so anything the layer knows about
earlier inputs has to survive being carried through every step since.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn


def _check_rnn(rnn: nn.Module) -> None:
    if not isinstance(rnn, nn.RNN):
        raise TypeError(f"expected a torch.nn.RNN, got {type(rnn).__name__}")
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError(
            f"only a single-layer, one-directional RNN is supported (got num_layers={rnn.num_layers}, "
            f"bidirectional={rnn.bidirectional}); build it with nn.RNN(input_size, hidden_size)"
        )


def rnn_step(rnn: nn.RNN, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
    """One step of `rnn` computed by hand: the new hidden state from the last one and the input `x_t`."""
    _check_rnn(rnn)
    if x_t.shape != (rnn.input_size,) or h_prev.shape != (rnn.hidden_size,):
        raise ValueError(
            f"x_t must have shape ({rnn.input_size},) and h_prev ({rnn.hidden_size},) for this RNN, "
            f"got {tuple(x_t.shape)} and {tuple(h_prev.shape)}"
        )
    total = rnn.weight_ih_l0 @ x_t + rnn.weight_hh_l0 @ h_prev
    if rnn.bias:
        total = total + rnn.bias_ih_l0 + rnn.bias_hh_l0
    return torch.tanh(total) if rnn.nonlinearity == "tanh" else torch.relu(total)


def unroll(rnn: nn.RNN, inputs: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """Run `rnn` over `inputs` of shape (steps, input_size) step by step; returns every hidden state (steps, hidden)."""
    _check_rnn(rnn)
    if inputs.dim() != 2 or inputs.shape[1] != rnn.input_size:
        raise ValueError(
            f"inputs must have shape (steps, {rnn.input_size}), got {tuple(inputs.shape)}; "
            "a sequence of plain numbers x becomes x.unsqueeze(1)"
        )
    if len(inputs) == 0:
        raise ValueError("the sequence is empty (0 steps): an RNN needs at least one input step")
    state = inputs.new_zeros(rnn.hidden_size) if h0 is None else h0
    states = []
    for x_t in inputs:
        state = rnn_step(rnn, x_t, state)
        states.append(state)
    return torch.stack(states)


def _check_weight(recurrent_weight: float) -> None:
    if not 0.0 <= recurrent_weight <= 1.0:
        raise ValueError(
            f"recurrent_weight must lie in [0, 1] (0 forgets at once, 1 never forgets), got {recurrent_weight}"
        )


def running_sum_rnn(recurrent_weight: float) -> nn.RNN:
    """A one-unit ReLU `nn.RNN` with h_t = relu(w * h_(t-1) + x_t), where w is `recurrent_weight`.

    For non-negative inputs, w = 1 keeps an exact running sum; w < 1 scales
    everything remembered by w at every step, so old inputs fade.
    """
    _check_weight(recurrent_weight)
    rnn = nn.RNN(input_size=1, hidden_size=1, nonlinearity="relu")
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.fill_(recurrent_weight)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    return rnn


def half_life(recurrent_weight: float) -> float:
    """Steps after which a running-sum RNN with this weight keeps half of an input: log 0.5 / log w."""
    _check_weight(recurrent_weight)
    if recurrent_weight == 1.0:
        return math.inf
    if recurrent_weight == 0.0:
        return 0.0
    return math.log(0.5) / math.log(recurrent_weight)


def input_influence(rnn: nn.RNN, inputs: torch.Tensor) -> torch.Tensor:
    """How much each input still moves the last hidden state: the norm of d h_last / d x_t, by autograd.

    `inputs` has shape (steps, input_size); the result has one number per step.
    """
    _check_rnn(rnn)
    if inputs.dim() != 2 or inputs.shape[1] != rnn.input_size:
        raise ValueError(f"inputs must have shape (steps, {rnn.input_size}), got {tuple(inputs.shape)}")
    if len(inputs) == 0:
        raise ValueError("the sequence is empty (0 steps): an RNN needs at least one input step")
    jacobian = torch.autograd.functional.jacobian(lambda x: rnn(x)[0][-1], inputs)  # (hidden, steps, input)
    return jacobian.square().sum(dim=(0, 2)).sqrt()


def draw_rnn_memory(inputs: torch.Tensor, recurrent_weight: float) -> Figure:
    """A running-sum RNN on a short sequence: its state step by step, and what it still remembers at the end.

    `inputs` is a 1-D sequence of non-negative numbers that starts and ends with a positive one:
    where the ReLU's input is exactly 0 its slope counts as 0, which would hide that input's influence.
    """
    if inputs.dim() != 1 or len(inputs) < 2 or inputs.min() < 0 or inputs[0] <= 0 or inputs[-1] <= 0:
        raise ValueError(
            "inputs must be a 1-D sequence of non-negative numbers that starts and ends with a positive one, "
            f"got {inputs}"
        )
    rnn = running_sum_rnn(recurrent_weight)
    sequence = inputs.unsqueeze(1)
    with torch.no_grad():
        states = unroll(rnn, sequence)[:, 0]
    influence = input_influence(rnn, sequence)
    steps = torch.arange(len(inputs)).numpy()

    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
    left.bar(steps, inputs.numpy(), color="0.75", label="input $x_t$")
    left.plot(steps, torch.cumsum(inputs, 0).numpy(), "k--", lw=1, label="exact running sum")
    left.plot(steps, states.numpy(), "o-", color="C0", label="hidden state $h_t$")
    left.set(xlabel="step t", ylabel="value", title=f"State step by step, w = {recurrent_weight:g}")
    left.set_ylim(0, 1.5 * float(inputs.sum()))
    left.legend(fontsize=8, loc="upper left")
    right.bar(steps, influence.numpy(), color="C1")
    life = half_life(recurrent_weight)
    memory = "never fades" if math.isinf(life) else f"half-life {life:.1f} steps"
    right.set(
        xlabel="step t of the input",
        ylabel=r"$|\partial h_{last} / \partial x_t|$",
        ylim=(0, 1.1),
        title=f"Memory at the last step ({memory})",
    )
    for axes in (left, right):
        axes.set_xticks(steps)
    return figure
