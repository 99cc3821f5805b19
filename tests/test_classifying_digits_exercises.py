"""The implement-it exercise of notebook 07: the reference solution passes `check_training_step`, typical mistakes
earn their hints, and the checker leaves the notebook's random numbers alone."""

import torch
from notebook_code import solution_namespace

from helpers.lessons.classifying_digits import STEP_HINTS, check_training_step

STEM = "07-classifying-digits"


def reference_solution():
    return solution_namespace(STEM, "my_training_step")["my_training_step"]


def test_the_notebooks_solution_passes():
    feedback = check_training_step(reference_solution())
    assert feedback.passed, feedback.message
    assert feedback.message.startswith("Correct: my_training_step passes all 2 checks")


def test_returning_the_loss_tensor_instead_of_a_number_is_accepted():
    def step(model, images, labels, loss_fn, optimizer):
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    assert check_training_step(step).passed


def test_forgetting_zero_grad_fails_on_leftover_gradients_with_its_hint():
    def step(model, images, labels, loss_fn, optimizer):
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    feedback = check_training_step(step)
    assert not feedback.passed
    assert "on a network whose .grad still holds the previous step's gradients" in feedback.message
    assert STEP_HINTS["no zero_grad"] in feedback.message


def test_forgetting_step_fails_with_its_hint():
    def step(model, images, labels, loss_fn, optimizer):
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        return loss.item()

    feedback = check_training_step(step)
    assert not feedback.passed and "on a fresh network" in feedback.message
    assert STEP_HINTS["no step"] in feedback.message


def test_zero_grad_between_backward_and_step_is_caught_as_weights_that_do_not_move():
    def step(model, images, labels, loss_fn, optimizer):
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        return loss.item()

    assert STEP_HINTS["no step"] in check_training_step(step).message


def test_backward_on_the_wrong_tensor_becomes_feedback_with_the_general_hint():
    def step(model, images, labels, loss_fn, optimizer):
        outputs = model(images)
        optimizer.zero_grad()
        outputs.backward()
        optimizer.step()
        return loss_fn(outputs, labels).item()

    feedback = check_training_step(step)
    assert not feedback.passed and "raised RuntimeError" in feedback.message
    assert STEP_HINTS["general"] in feedback.message


def test_the_stub_is_not_written_yet_and_checking_draws_no_global_random_numbers():
    def stub(model, images, labels, loss_fn, optimizer):
        raise NotImplementedError

    state = torch.get_rng_state()
    assert check_training_step(stub).message.startswith("Not written yet.")
    check_training_step(reference_solution())
    assert torch.equal(torch.get_rng_state(), state)
