"""What every model of the course shares: serialization of the sub-networks it is built from,
the code-size check, the input check, and batched eager inference."""

from __future__ import annotations

import numpy as np

from gan_lessons.config import keras, tf

ops = keras.ops


def matching_code_size(encoder: keras.Model, decoder: keras.Model) -> int:
    """The code size both networks agree on; a clear error when the encoder's output and the
    decoder's input differ."""
    code_size = encoder.outputs[0].shape[-1]
    # A subclassed decoder (networks.RecurrentDecoder) says its code size; a functional one shows it.
    decoder_input = decoder.latent_dim if hasattr(decoder, "latent_dim") else decoder.inputs[0].shape[-1]
    if code_size != decoder_input:
        raise ValueError(f"the encoder emits codes of size {code_size} but the decoder expects {decoder_input}")
    return int(code_size)


class SubNetworkConfig:
    """``get_config``/``from_config`` support for models whose ``__init__`` takes sub-networks.

    Subclasses list the constructor arguments that are networks in ``sub_networks``; they are
    stored with ``serialize_keras_object`` so that a ``.keras`` file rebuilds the whole model.
    """

    sub_networks: tuple[str, ...] = ()

    def sub_network_config(self) -> dict:
        """The serialized sub-networks, to merge into ``get_config``."""
        return {name: keras.saving.serialize_keras_object(getattr(self, name)) for name in self.sub_networks}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        for name in cls.sub_networks:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)


def predict_in_batches(network: keras.Model, inputs, batch_size: int = 256) -> np.ndarray:
    """Run ``network`` in inference mode over ``inputs`` (one array, or a list of equally long arrays
    for a network with several inputs) in eager batches and return NumPy.

    Eager calls avoid building a new ``tf.function`` per network (and TensorFlow's retracing
    warnings when a lesson queries many small models).
    """
    several = isinstance(inputs, (list, tuple))
    arrays = [np.asarray(a) for a in inputs] if several else [np.asarray(inputs, dtype=np.float32)]
    outputs = [
        ops.convert_to_numpy(network([a[start : start + batch_size] for a in arrays] if several
                                     else arrays[0][start : start + batch_size], training=False))
        for start in range(0, len(arrays[0]), batch_size)
    ]
    return np.concatenate(outputs)


def encode_in_batches(encoder: keras.Model, inputs, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(μ, log σ²) of a Gaussian encoder for every input, computed in eager batches."""
    inputs = np.asarray(inputs, dtype=np.float32)
    parts = [encoder(inputs[start : start + batch_size], training=False) for start in range(0, len(inputs), batch_size)]
    return tuple(np.concatenate([ops.convert_to_numpy(part[j]) for part in parts]) for j in range(2))


def checked_inputs(data, model_name: str, low: float | None, high: float | None, hint: str = ""):
    """The inputs of a batch, after checks that fail loudly: the model takes no sample weights,
    and (unless ``low`` is None) every value lies in [low, high], the range its output can take."""
    x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if sample_weight is not None:
        raise ValueError(f"{model_name} does not support sample weights")
    if low is not None:
        message = f"{model_name} inputs must lie in [{low:g}, {high:g}]{hint}"
        tf.debugging.assert_greater_equal(ops.min(x), ops.cast(low, x.dtype), message=message)
        tf.debugging.assert_less_equal(ops.max(x), ops.cast(high, x.dtype), message=message)
    return x
