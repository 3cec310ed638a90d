import pytest


@pytest.fixture(scope="session")
def generator():
    """The embedded default model (SmolLM2-135M-Instruct), loaded once, in fp32 so that batched and
    unbatched decoding can be compared token for token."""
    from gentax.agents.models import load_model
    from gentax.rollout.generation import TransformersGenerator

    return TransformersGenerator(load_model("default", dtype="float32"), batch_size=8)
