"""The benchmark's FLOP counts against hand computations, its reference DCGAN, and its report."""

import numpy as np
import pytest

from gan_lessons import bench, networks
from gan_lessons.config import keras
from gan_lessons.models import GAN

layers = keras.layers


def one_layer(shape, layer):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


@pytest.mark.parametrize(
    "shape, layer, expected",
    [
        ((3,), layers.Dense(4), 2 * 3 * 4),
        ((5, 5, 1), layers.Conv2D(2, 3, padding="same"), 2 * 9 * 1 * 2 * 25),  # 25 output positions
        ((3, 3, 2), layers.Conv2DTranspose(1, 4, strides=2, padding="same"), 2 * 16 * 2 * 1 * 9),  # 9 inputs
        ((6, 3), layers.LSTM(4), 6 * 2 * 4 * 4 * (3 + 4)),  # four gates, input and recurrent kernels
        ((6, 3), layers.Dense(5), 2 * 3 * 5 * 6),  # a Dense on a sequence runs at every step
    ],
)
def test_forward_flops_match_hand_counts(shape, layer, expected):
    assert bench.forward_flops(one_layer(shape, layer)) == expected


def test_gan_training_flops_count_both_steps():
    gan = GAN(networks.mlp_generator(2, 2, (8,)), networks.mlp_discriminator(2, (8,)))
    g, d = bench.forward_flops(gan.generator), bench.forward_flops(gan.discriminator)
    assert g == 2 * (2 * 8 + 8 * 2) and d == 2 * (2 * 8 + 8 * 1)
    assert bench.gan_training_flops(gan) == 4 * g + 9 * d


def test_the_reference_dcgan_has_the_keras_io_shapes():
    generator, discriminator = bench.keras_io_generator(), bench.keras_io_discriminator()
    images = keras.ops.convert_to_numpy(generator(np.zeros((2, 128), "float32")))
    assert images.shape == (2, 28, 28, 1) and images.min() >= 0 and images.max() <= 1
    assert tuple(discriminator.output.shape) == (None, 1)
    assert [layer.filters for layer in discriminator.layers if isinstance(layer, layers.Conv2D)] == [64, 128]


def test_the_report_is_a_markdown_table_with_the_ratio():
    results = {
        "machine": {"device": "CPU", "platform": "test", "matmul_peak_gflops": 100.0},
        "models": {
            "a": {"parameters": 10, "samples_per_second": 5.0, "gflops_per_sample": 0.1, "share_of_peak": 0.005}
        },
        "time_to_quality": {"target": {"confident_share": 0.6}, "a": {"reached": True, "epochs": 3, "seconds": 9.0},
                            "ratio": 3.5},
    }
    text = bench.markdown(results)
    assert "| a | 10 | 5 | 0.100 | 0% |" in text and "| a | yes | 3 | 9 |" in text
    assert "Ratio (reference / lesson): 3.5" in text
