"""State information augmentation: goal-irrelevant distractors in what the agent reads."""

from gentax.augment.wrapper import AugmentConfig, AugmentWrapper

__all__ = ["AugmentConfig", "AugmentWrapper"]
