import pytest
import torchvision
from torchvision.models import ResNet18_Weights, ResNet50_Weights

from lecture_lib.weights import IMAGENET_MEAN, IMAGENET_STD, resolve_weights


@pytest.mark.parametrize(
    "weights, expected",
    [
        ("DEFAULT", ResNet50_Weights.IMAGENET1K_V2),
        ("IMAGENET1K_V1", ResNet50_Weights.IMAGENET1K_V1),
        (ResNet50_Weights.IMAGENET1K_V1, ResNet50_Weights.IMAGENET1K_V1),
        (None, None),
    ],
)
def test_resolve_weights_as_torchvision(weights, expected):
    assert resolve_weights(weights, ResNet50_Weights) is expected
    if weights is not None:  # torchvision's own lookup agrees
        assert (
            torchvision.models.get_weight(f"ResNet50_Weights.{getattr(weights, 'name', weights)}") is expected
        )


def test_resolve_weights_names_the_choices():
    with pytest.raises(
        ValueError, match=r"'DEFAULT', None or one of \['IMAGENET1K_V1', 'IMAGENET1K_V2'\], got 'V3'"
    ):
        resolve_weights("V3", ResNet50_Weights)
    with pytest.raises(TypeError, match=r"got bool True"):
        resolve_weights(True, ResNet50_Weights)
    with pytest.raises(TypeError, match=r"got ResNet18_Weights"):  # an entry of another architecture
        resolve_weights(ResNet18_Weights.DEFAULT, ResNet50_Weights)
    with pytest.raises(TypeError, match="got NoneType None"):
        resolve_weights(None, ResNet50_Weights, allow_none=False)
    with pytest.raises(TypeError, match="choices must be a weights enum or a sequence of names"):
        resolve_weights("DEFAULT", "glove")


def test_resolve_weights_from_names():
    names = ("small", "large")
    assert resolve_weights("DEFAULT", names, default="large") == "large"
    assert resolve_weights("small", names, default="large") == "small"
    with pytest.raises(ValueError, match=r"'DEFAULT' or one of \['small', 'large'\], got 'medium'"):
        resolve_weights("medium", names, default="large", allow_none=False)
    with pytest.raises(ValueError, match="default must be one of"):
        resolve_weights("small", names, default="huge")
    with pytest.raises(ValueError, match="needs a default"):
        resolve_weights("DEFAULT", names)


def test_imagenet_statistics_are_torchvisions():
    preset = ResNet18_Weights.IMAGENET1K_V1.transforms()
    assert tuple(preset.mean) == IMAGENET_MEAN and tuple(preset.std) == IMAGENET_STD
