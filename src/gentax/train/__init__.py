"""Training: GRPO over whole trajectories (PAPER.md), SFT warm-up, checkpoints and resume."""
