"""The GRPO pieces against values computed by hand."""

import math

import pytest
import torch

from gentax.train.grpo import group_advantages, grpo_loss, zero_variance_share


def test_group_advantages_normalise_within_each_group():
    returns = torch.tensor([10.0, 0.0, 0.0, 0.0, -0.1, -0.1, 5.0])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    adv = group_advantages(returns, groups)
    # group 0: mean 2.5, unbiased std sqrt((7.5^2 + 3 * 2.5^2) / 3) = 5
    assert adv[:4].tolist() == pytest.approx([1.5, -0.5, -0.5, -0.5], abs=1e-5)
    assert adv[4:].tolist() == [0.0, 0.0, 0.0]  # equal returns, and a group of one: no signal
    assert zero_variance_share(returns, groups) == pytest.approx(2 / 3)


def test_clip_and_kl_match_hand_computation():
    logp = torch.tensor([[math.log(0.5), math.log(0.9)]], requires_grad=True)
    old = torch.tensor([[math.log(0.25), math.log(0.9)]])  # ratios 2.0 and 1.0
    ref = torch.tensor([[math.log(0.25), math.log(0.45)]])
    mask = torch.tensor([[1.0, 1.0]])
    loss, stats = grpo_loss(logp, old, ref, torch.tensor([1.0]), mask, clip_eps=0.2, kl_coef=0.01)
    # token 1: A=1, ratio 2 -> max(-2, -1.2) = -1.2 (clipped); token 2: ratio 1 -> -1
    # k3: r = log(ref/pi): token 1 log(0.5), token 2 log(0.5): exp(r) - r - 1 = 0.5 + ln 2 - 1
    k3 = 0.5 + math.log(2) - 1
    assert loss.item() == pytest.approx(((-1.2 + 0.01 * k3) + (-1.0 + 0.01 * k3)) / 2, rel=1e-6)
    assert stats.clip_fraction == pytest.approx(0.5) and stats.kl == pytest.approx(k3)
    loss.backward()
    # the clipped token carries no policy gradient, only the KL term's
    assert logp.grad[0, 0] == pytest.approx(0.01 * (1 - 0.5) / 2, rel=1e-5)


def test_negative_advantage_clips_on_the_low_side():
    logp = torch.tensor([[math.log(0.1)]])
    old = torch.tensor([[math.log(0.5)]])  # ratio 0.2
    loss, stats = grpo_loss(logp, old, None, torch.tensor([-2.0]), torch.ones(1, 1), clip_eps=0.2)
    assert loss.item() == pytest.approx(max(2 * 0.2, 2 * 0.8)) and stats.clip_fraction == 1.0


def test_prompt_and_padding_tokens_do_not_count():
    logp = torch.tensor([[-1.0, -5.0, -7.0]], requires_grad=True)
    mask = torch.tensor([[1.0, 0.0, 0.0]])
    loss, _ = grpo_loss(logp, logp.detach(), None, torch.tensor([3.0]), mask)
    loss.backward()
    assert loss.item() == pytest.approx(-3.0) and logp.grad[0, 1:].abs().sum() == 0


def test_micro_batches_sum_to_the_mini_batch_token_mean():
    torch.manual_seed(0)
    logp, old, ref = torch.randn(4, 6), torch.randn(4, 6), torch.randn(4, 6)
    mask = (torch.rand(4, 6) > 0.3).float()
    adv = torch.randn(4)
    whole, _ = grpo_loss(logp, old, ref, adv, mask)
    parts = sum(grpo_loss(logp[i:i + 2], old[i:i + 2], ref[i:i + 2], adv[i:i + 2], mask[i:i + 2],
                          token_count=float(mask.sum()))[0] for i in (0, 2))
    assert float(parts) == pytest.approx(float(whole), rel=1e-6)
