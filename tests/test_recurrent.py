"""Tests for helpers.kernels.recurrent: the step of nn.RNN by hand, the running-sum RNN and its memory."""

import math

import pytest
import torch
from torch import nn

from helpers.kernels.recurrent import half_life, input_influence, rnn_step, running_sum_rnn, unroll


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_unroll_matches_nn_rnn(nonlinearity, bias):
    torch.manual_seed(0)
    rnn = nn.RNN(input_size=3, hidden_size=5, nonlinearity=nonlinearity, bias=bias)
    inputs, h0 = torch.randn(7, 3), torch.randn(5)
    expected, last = rnn(inputs, h0.unsqueeze(0))
    states = unroll(rnn, inputs, h0)
    torch.testing.assert_close(states, expected)
    torch.testing.assert_close(states[-1], last[0])


def test_rnn_step_matches_one_step_of_nn_rnn():
    torch.manual_seed(1)
    rnn = nn.RNN(input_size=2, hidden_size=4)
    x_t, h_prev = torch.randn(2), torch.randn(4)
    expected = rnn(x_t.view(1, 2), h_prev.view(1, 4))[1][0]
    torch.testing.assert_close(rnn_step(rnn, x_t, h_prev), expected)


def test_unroll_gradients_match_nn_rnn():
    torch.manual_seed(2)
    rnn = nn.RNN(input_size=2, hidden_size=3)
    inputs = torch.randn(6, 2)
    ours = torch.autograd.grad(unroll(rnn, inputs).sum(), rnn.weight_hh_l0)[0]
    reference = torch.autograd.grad(rnn(inputs)[0].sum(), rnn.weight_hh_l0)[0]
    torch.testing.assert_close(ours, reference)


def test_running_sum_rnn_sums_and_forgets():
    inputs = torch.tensor([1.0, 0.0, 2.0, 0.5, 0.0, 3.0])
    with torch.no_grad():
        exact = unroll(running_sum_rnn(1.0), inputs.unsqueeze(1))[:, 0]
        leaky = unroll(running_sum_rnn(0.5), inputs.unsqueeze(1))[:, 0]
    torch.testing.assert_close(exact, torch.cumsum(inputs, 0))
    expected = [sum(0.5 ** (t - s) * inputs[s] for s in range(t + 1)) for t in range(len(inputs))]
    torch.testing.assert_close(leaky, torch.stack(expected))


@pytest.mark.parametrize("weight", [0.0, 0.5, 0.8, 1.0])
def test_input_influence_of_running_sum_is_a_power_of_the_weight(weight):
    inputs = torch.tensor([[1.0], [0.5], [2.0], [0.0], [1.0]])
    expected = torch.tensor([weight ** (4 - s) for s in range(5)])
    torch.testing.assert_close(input_influence(running_sum_rnn(weight), inputs), expected)


def test_input_influence_matches_finite_differences():
    torch.manual_seed(3)
    rnn = nn.RNN(input_size=1, hidden_size=4).double()
    inputs = torch.randn(6, 1, dtype=torch.float64)
    eps = 1e-6
    nudges = eps * torch.eye(6, dtype=torch.float64).unsqueeze(2)  # nudges[s] moves input s only
    with torch.no_grad():
        base = rnn(inputs)[0][-1]
        nudged = [rnn(inputs + nudge)[0][-1] for nudge in nudges]
    numeric = torch.stack([(h - base).norm() / eps for h in nudged])
    torch.testing.assert_close(input_influence(rnn, inputs), numeric, rtol=1e-4, atol=1e-8)


def test_half_life():
    assert half_life(0.5) == pytest.approx(1.0)
    assert 0.8 ** half_life(0.8) == pytest.approx(0.5)
    assert half_life(1.0) == math.inf
    assert half_life(0.0) == 0.0


@pytest.mark.parametrize("call", [lambda: running_sum_rnn(1.5), lambda: half_life(-0.1)])
def test_recurrent_weight_outside_unit_interval_is_rejected(call):
    with pytest.raises(ValueError, match=r"recurrent_weight must lie in \[0, 1\]"):
        call()


def test_only_single_layer_rnns_are_supported():
    with pytest.raises(TypeError, match="expected a torch.nn.RNN"):
        unroll(nn.GRU(1, 2), torch.rand(3, 1))
    with pytest.raises(ValueError, match="single-layer, one-directional"):
        unroll(nn.RNN(1, 2, num_layers=2), torch.rand(3, 1))


def test_wrong_shapes_are_rejected():
    rnn = nn.RNN(input_size=2, hidden_size=3)
    with pytest.raises(ValueError, match=r"inputs must have shape \(steps, 2\)"):
        unroll(rnn, torch.rand(5))
    with pytest.raises(ValueError, match=r"x_t must have shape \(2,\) and h_prev \(3,\)"):
        rnn_step(rnn, torch.rand(2), torch.rand(2))
    with pytest.raises(ValueError, match=r"inputs must have shape \(steps, 2\)"):
        input_influence(rnn, torch.rand(4, 3))


def test_an_empty_sequence_is_rejected():
    rnn = running_sum_rnn(0.5)
    for run in (unroll, input_influence):
        with pytest.raises(ValueError, match=r"the sequence is empty \(0 steps\)"):
            run(rnn, torch.zeros(0, 1))
