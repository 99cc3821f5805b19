"""A recurrent layer one step at a time: the update of `nn.RNN` from scratch, and how long it remembers.

At every step the new hidden state mixes the previous state with the latest input,
h_t = f(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), so anything the layer knows about
earlier inputs has to survive being carried through every step since.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from helpers.core.checks import checked


def check_rnn(rnn: nn.Module, **_) -> None:
    """A single-layer, one-directional `nn.RNN`."""
    if not isinstance(rnn, nn.RNN):
        raise TypeError(f"expected a torch.nn.RNN, got {type(rnn).__name__}")
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError(
            f"only a single-layer, one-directional RNN is supported (got num_layers={rnn.num_layers}, "
            f"bidirectional={rnn.bidirectional}); build it with nn.RNN(input_size, hidden_size)"
        )


def check_step(rnn: nn.RNN, x_t: torch.Tensor, h_prev: torch.Tensor) -> None:
    """One input vector and one hidden state of the sizes `rnn` takes."""
    if x_t.shape != (rnn.input_size,) or h_prev.shape != (rnn.hidden_size,):
        raise ValueError(
            f"x_t must have shape ({rnn.input_size},) and h_prev ({rnn.hidden_size},) for this RNN, "
            f"got {tuple(x_t.shape)} and {tuple(h_prev.shape)}"
        )


def check_sequence(rnn: nn.RNN, inputs: torch.Tensor, **_) -> None:
    """A non-empty sequence of shape (steps, input_size)."""
    if inputs.dim() != 2 or inputs.shape[1] != rnn.input_size:
        raise ValueError(
            f"inputs must have shape (steps, {rnn.input_size}), got {tuple(inputs.shape)}; "
            "a sequence of plain numbers x becomes x.unsqueeze(1)"
        )
    if len(inputs) == 0:
        raise ValueError("the sequence is empty (0 steps): an RNN needs at least one input step")


@checked(check_rnn, check_step)
def rnn_step(rnn: nn.RNN, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
    """One step of `rnn` computed by hand: the new hidden state from the last one and the input `x_t`."""
    total = rnn.weight_ih_l0 @ x_t + rnn.weight_hh_l0 @ h_prev
    if rnn.bias:
        total = total + rnn.bias_ih_l0 + rnn.bias_hh_l0
    return torch.tanh(total) if rnn.nonlinearity == "tanh" else torch.relu(total)


@checked(check_rnn, check_sequence)
def unroll(rnn: nn.RNN, inputs: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """Run `rnn` over `inputs` of shape (steps, input_size) step by step; returns every hidden state (steps, hidden)."""
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


@checked(check_rnn, check_sequence)
def input_influence(rnn: nn.RNN, inputs: torch.Tensor) -> torch.Tensor:
    """How much each input still moves the last hidden state: the norm of d h_last / d x_t, by autograd.

    `inputs` has shape (steps, input_size); the result has one number per step.
    """
    jacobian = torch.autograd.functional.jacobian(lambda x: rnn(x)[0][-1], inputs)  # (hidden, steps, input)
    return jacobian.square().sum(dim=(0, 2)).sqrt()
