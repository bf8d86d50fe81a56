"""Registered claims of notebook 01 (CNN recap), judged by ``lecture_lib.claims``'s one rule.

Written before any measurement under the rule (issue 22) and reviewed once before notebook 01
first judged it (the top-5 steps and the Inception saving became facts; "higher stages see more"
was added). Notebook 01's closing table judges every entry; from now on an entry never changes to
move a verdict. Paper figures: ``shared/paper-numbers.md`` (status V only).
"""

from lecture_lib.claims import Claim, ClaimRegistry

REGISTRY = ClaimRegistry(
    "01_cnn_recap",
    [
        Claim(
            "cnn.conv.local_filter_params",
            "100 filters of 10x10 on a 1000x1000 image need only 10k weights",
            "slides: Intuition of CNNs",
            "fact",
            paper="10k parameters",
            expected=10_000,
        ),
        Claim(
            "cnn.conv.response_map_shape",
            "their response map is 1000x1000x100: memory, not parameters",
            "slides: Intuition of CNNs",
            "fact",
            paper="1000x1000x100",
            expected=(100, 1000, 1000),
        ),
        Claim(
            "cnn.pooling.translation",
            "pooling makes features more robust to small translations",
            "slides: Pooling Layers",
            "effect",
            "<",
            paper="qualitative",
        ),
        Claim(
            "cnn.lenet.params",
            "LeNet-5 as published has 60,000 trainable parameters",
            "LeCun et al. 1998, Sec. II.B",
            "fact",
            paper="60,000 (sparse C3 table)",
            expected=60_000,
        ),
        Claim(
            "cnn.receptive_field.grows",
            "every conv and pool layer widens the receptive field: higher stages see more of the image",
            "slides: Effect of Multiple Convolution Layers",
            "fact",
            paper="higher stages compute more global features",
            expected=True,
        ),
        Claim(
            "cnn.vgg.stacked_3x3",
            "three stacked 3x3 convolutions see a 7x7 receptive field",
            "VGG (Simonyan & Zisserman 2015), Sec. 2.3",
            "fact",
            paper="7x7",
            expected=7,
        ),
        Claim(
            "cnn.alexnet.layers",
            "AlexNet has 8 weight layers",
            "AlexNet (Krizhevsky 2012), Sec. 3.5",
            "fact",
            paper="5 conv + 3 fully connected",
            expected=8,
        ),
        Claim(
            "cnn.vgg.depths",
            "VGG configurations A-E have 11, 11, 13, 16, 16, 19 weight layers",
            "VGG (Simonyan & Zisserman 2015), Table 1",
            "fact",
            paper="11/11/13/16/16/19",
            expected=(11, 11, 13, 16, 16, 19),
        ),
        Claim(
            "cnn.resnet.layers",
            "ResNet-152 has 152 layers",
            "ResNet (He et al. 2016), Table 1",
            "fact",
            paper="152 layers",
            expected=152,
        ),
        Claim(
            "cnn.inception.reduction",
            "1x1 reductions make the Inception module cheaper than the naive one",
            "GoogLeNet (Szegedy et al. 2015), Sec. 4",
            "fact",  # multiply-adds counted from the layers' shapes: exact, no sampling to bootstrap
            paper="dimension reductions",
            expected=True,
        ),
        Claim(
            "cnn.resnet.skips_train",
            "with skip connections a deep net trains to a lower loss than without",
            "ResNet (He et al. 2016), Fig. 1 and Sec. 4.1",
            "effect",
            ">",
            paper="34-layer residual < plain training error (ImageNet)",
            training=True,
        ),
        Claim(
            "cnn.resnet.degradation",
            "a deeper plain net trains worse than a shallower one",
            "ResNet (He et al. 2016), Fig. 1",
            "effect",
            ">",
            paper="56-layer plain net: higher training error than 20-layer (CIFAR-10)",
            training=True,
        ),
        Claim(
            "cnn.top5.alexnet_vgg",
            "VGG-16 has a lower top-5 error than AlexNet",
            "VGG (Simonyan & Zisserman 2015); torchvision weights meta",
            "fact",  # published ImageNet figures, not measured here: no test items to bootstrap
            paper="15.3% -> 7.3% (ILSVRC test; ensembles)",
            expected=True,
        ),
        Claim(
            "cnn.top5.vgg_googlenet",
            "GoogLeNet has a lower top-5 error than VGG-16",
            "GoogLeNet (Szegedy et al. 2015); torchvision weights meta",
            "fact",  # published ImageNet figures, not measured here: no test items to bootstrap
            paper="7.3% -> 6.67% (ILSVRC test; ensembles, 144 crops)",
            expected=True,
        ),
        Claim(
            "cnn.top5.googlenet_resnet",
            "ResNet-152 has a lower top-5 error than GoogLeNet",
            "ResNet (He et al. 2016); torchvision weights meta",
            "fact",  # published ImageNet figures, not measured here: no test items to bootstrap
            paper="6.67% -> 3.57% (ILSVRC test; ensembles)",
            expected=True,
        ),
        Claim(
            "cnn.top5.each_lowers",
            "each new architecture lowers the top-5 error",
            "slides: AlexNet ... ResNet",
            "compound",
            parts=("cnn.top5.alexnet_vgg", "cnn.top5.vgg_googlenet", "cnn.top5.googlenet_resnet"),
        ),
    ],
)
