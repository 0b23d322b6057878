"""Every course model under ``tf.distribute.MirroredStrategy`` on two logical CPU devices, for
tests/test_distributed.py (logical devices must be set before TensorFlow starts: hence a process).

    python tests/distributed_run.py steps [--unscaled]   one step per model, strategy vs one device
    python tests/distributed_run.py train DIRECTORY      a GAN with EMA for two epochs; .keras save

Prints one JSON line. ``--unscaled`` turns the package's per-replica scaling and noise slicing off
(the step every model had before them), to measure what goes wrong without them.
"""

import json
import sys

import numpy as np

from gan_lessons import config, distribute, networks, recipes
from gan_lessons.config import keras, tf
from gan_lessons.models import (
    GAN,
    LSTMGAN,
    VAE,
    VAEGAN,
    WGAN,
    AdversarialRecurrentVAE,
    Autoencoder,
    Completion,
    ConditionalGAN,
    RecurrentVAE,
)

BATCH = 16  # the global batch: 8 rows per replica


def rng():
    """The same numbers for both runs of a comparison."""
    return np.random.default_rng(0)


def sgd():
    return keras.optimizers.SGD(0.05)  # plain SGD: Adam would hide a doubled gradient


def unit_images():
    return rng().uniform(0, 1, (BATCH, 28, 28, 1)).astype("float32")


def signed_images():
    return rng().uniform(-1, 1, (BATCH, 28, 28, 1)).astype("float32")


def autoencoder():
    model = Autoencoder(networks.dense_encoder(4, (16,)), networks.dense_decoder(4, (16,)), noise_stddev=0.3, seed=0)
    model.compile(optimizer=sgd())
    return model, unit_images()


def vae():
    model = VAE(networks.gaussian_encoder(4, (16,)), networks.dense_decoder(4, (16,), output_activation=None), seed=0)
    model.compile(optimizer=sgd())
    return model, unit_images().round()


def recurrent_vae():
    model = RecurrentVAE(networks.lstm_gaussian_encoder(3, steps=6, features=4, units=8),
                         networks.RecurrentDecoder(3, steps=6, features=4, units=8), input_dropout=0.25, seed=0)
    model.compile(optimizer=sgd())
    return model, rng().uniform(size=(BATCH, 6, 4)).round().astype("float32")


def gan():
    model = GAN(networks.mlp_generator(4, 2, (16,)), networks.mlp_discriminator(4, (16,)), real_label=0.9,
                d_steps=2, packing=2, ema=0.9, seed=0)
    model.compile(d_optimizer=sgd(), g_optimizer=sgd())
    return model, rng().standard_normal((BATCH, 2)).astype("float32")


def dcgan():
    """Lesson 03's networks, narrow: batch normalization in G, dropout in D."""
    model = GAN(networks.dcgan_generator(4, width=8, extra_convolutions=1), networks.dcgan_discriminator(width=2),
                real_label=0.9, ema=0.9, seed=0)
    model.compile(d_optimizer=sgd(), g_optimizer=sgd())
    return model, signed_images()


def wgan(constraint):
    critic = networks.dcgan_discriminator(width=2, dropout=0.0, name="critic")
    model = WGAN(networks.dcgan_generator(4, width=8), critic, constraint=constraint, n_critic=2, ema=0.9, seed=0)
    model.compile(critic_optimizer=sgd(), g_optimizer=sgd())
    return model, signed_images()


def conditional_gan():
    model = ConditionalGAN(networks.conditional_dcgan_generator(4, embedding_dim=2, width=8),
                           networks.projection_discriminator(width=2), ema=0.9, seed=0)
    model.compile(d_optimizer=sgd(), g_optimizer=sgd())
    return model, (signed_images(), rng().integers(0, 10, BATCH).astype("int32"))


def completion():
    model = Completion(networks.unet_completer(4, width=2), networks.patch_discriminator(width=2), l1_weight=10.0,
                       seed=0)
    model.compile(d_optimizer=sgd(), g_optimizer=sgd())
    target = signed_images()
    return model, (np.concatenate([target, np.ones_like(target)], axis=-1), target)


def lstm_gan():
    model = LSTMGAN.from_sizes(6, noise_dim=2, units=4, packing=2, ema=0.9, seed=0)
    model.compile(d_optimizer=sgd(), g_optimizer=sgd())
    return model, rng().uniform(-1, 1, (BATCH, 6, 1)).astype("float32")


def vae_gan():
    model = VAEGAN(networks.conv_gaussian_encoder(2, filters=(4,), hidden=8), networks.dcgan_generator(2, width=8),
                   networks.dcgan_discriminator(width=2), reconstruction="both", seed=0)
    model.compile(encoder_optimizer=sgd(), decoder_optimizer=sgd(), discriminator_optimizer=sgd())
    return model, signed_images()


def adversarial_recurrent_vae():
    model = AdversarialRecurrentVAE(networks.lstm_gaussian_encoder(2, 6, 1, units=8),
                                    networks.RecurrentDecoder(2, 6, 1, units=8, condition="input", feedback="none"),
                                    networks.lstm_discriminator(6, 1, 8), seed=0)
    model.compile(encoder_optimizer=sgd(), decoder_optimizer=sgd(), discriminator_optimizer=sgd())
    return model, rng().uniform(-1, 1, (BATCH, 6, 1)).astype("float32")


MODELS = {
    "Autoencoder (denoising)": autoencoder,
    "VAE": vae,
    "RecurrentVAE (word dropout)": recurrent_vae,
    "GAN (2 D steps, packing 2, EMA)": gan,
    "GAN (DCGAN: batch norm, dropout)": dcgan,
    "WGAN-GP": lambda: wgan("penalty"),
    "WGAN (clipping)": lambda: wgan("clipping"),
    "ConditionalGAN": conditional_gan,
    "Completion": completion,
    "LSTMGAN": lstm_gan,
    "VAEGAN": vae_gan,
    "AdversarialRecurrentVAE": adversarial_recurrent_vae,
}


def unscale() -> None:
    """The models' steps without the per-replica handling: no scaling, no slicing, per-replica batch
    statistics and dropout masks (as before tf.distribute support, except for the WGAN's unrolled
    critic steps and RecurrentVAE.call, without which those two did not run at all)."""
    import gan_lessons.layers
    import gan_lessons.models as package_models

    modules = [gan_lessons.layers, *(sys.modules[name] for name in list(sys.modules)
                                     if name.startswith(package_models.__name__ + "."))]
    for module in modules:
        if hasattr(module, "scaled_for_replicas"):
            module.scaled_for_replicas = list
        if hasattr(module, "replica_draw"):
            module.replica_draw = lambda draw, shape, seed: draw(shape, seed=seed)
        if hasattr(module, "replicas_in_sync"):
            module.replicas_in_sync = lambda: 1


def one_step(build, strategy):
    """(weights before, weights after, history, class name) of one fit step on one global batch."""
    with strategy.scope() if strategy else tf.name_scope("one_device"):
        config.seed_everything(0)
        model, batch = build()
    before = [np.array(v) for v in model.weights]
    history = model.fit(tf.data.Dataset.from_tensor_slices(batch).batch(BATCH), epochs=1, verbose=0).history
    after = [np.array(v) for v in model.weights]
    return before, after, {k: float(v[-1]) for k, v in history.items()}, type(model).__name__


def steps(strategy) -> dict:
    results = {}
    for name, build in MODELS.items():
        start, alone, logs, kind = one_step(build, None)
        start_2, together, logs_2, _ = one_step(build, strategy)
        updates = [(b - a, d - c) for a, b, c, d in zip(start, alone, start_2, together)]
        largest = max(float(np.abs(u).max()) for u, _ in updates)
        # ratios of the variables that really move: a bias just before batch normalization has a zero
        # gradient in exact arithmetic, and its float noise has no meaningful ratio
        moved = [(u, v) for u, v in updates if np.abs(u).max() > 1e-4 * largest]
        results[name] = {
            "class": kind,
            "same_start": all(np.array_equal(a, c) for a, c in zip(start, start_2)),
            "max_weight_difference": max(float(np.abs(b - d).max()) for b, d in zip(alone, together)),
            "largest_update": largest,
            "update_ratio_min": min(float(np.linalg.norm(v) / np.linalg.norm(u)) for u, v in moved),
            "update_ratio_max": max(float(np.linalg.norm(v) / np.linalg.norm(u)) for u, v in moved),
            "trackers_one_device": logs,
            "trackers_strategy": logs_2,
        }
    return results


def train(strategy, directory: str) -> dict:
    """A GAN with a weight average trains two epochs under the strategy, is saved under it, loads without."""
    with strategy.scope():
        config.seed_everything(0)
        model = GAN(networks.mlp_generator(4, 2, (16,)), networks.mlp_discriminator(2, (16,)), ema=0.9, seed=0)
        model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    points = rng().standard_normal((256, 2)).astype("float32")
    history = model.fit(points, batch_size=32, epochs=2, verbose=0).history
    path = f"{directory}/gan.keras"
    with strategy.scope():
        model.save(path)
    loaded = keras.saving.load_model(path)
    same = all(np.array_equal(np.array(a), np.array(b)) for a, b in zip(model.weights, loaded.weights))
    noise = rng().standard_normal((8, 4)).astype("float32")
    recipe_updates = []  # lesson 02's VAE by its recipe: a make_dataset pipeline, binarized afresh each pass
    for scope in (tf.name_scope("one_device"), strategy.scope()):
        with scope:
            recipe = recipes.vae(rng().integers(0, 256, (100, 28, 28)).astype("uint8"))
        start = np.concatenate([np.ravel(v) for v in recipe.model.trainable_variables])
        recipe.model.fit(recipe.train, epochs=1, verbose=0)
        recipe_updates.append(np.concatenate([np.ravel(v) for v in recipe.model.trainable_variables]) - start)
    with strategy.scope():
        model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                      steps_per_execution=4)
    try:
        model.fit(points, batch_size=32, epochs=1, verbose=0)
        error = ""
    except ValueError as failure:
        error = str(failure)
    with strategy.scope():  # what the check guards against, with a model that is not the course's
        line = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        line.compile(optimizer="sgd", loss="mse", steps_per_execution=4)
    try:
        line.fit(points, points[:, :1], batch_size=32, epochs=1, verbose=0)
        keras_failure = ""
    except tf.errors.InvalidArgumentError as failure:
        keras_failure = str(failure)
    return {
        "epochs": len(history["d_loss"]),
        "finite": bool(all(np.isfinite(v).all() for v in history.values())),
        "loaded_class": type(loaded).__name__,
        "loaded_weights_equal": same,
        "loaded_decodes_like_saved": bool(np.allclose(model.decode(noise), loaded.decode(noise), atol=1e-6)),
        "recipe_steps_per_execution": int(recipe.model.steps_per_execution),
        "recipe_relative_difference": float(np.linalg.norm(recipe_updates[1] - recipe_updates[0])
                                            / np.linalg.norm(recipe_updates[0])),
        "recipe_pipeline_passes": int(recipe.train.pipeline_epoch.numpy()),
        "steps_per_execution_error": error,
        "keras_fails_without_the_check": "You must feed a value for placeholder tensor" in keras_failure,
    }


def main(argv: list[str]) -> None:
    strategy = tf.distribute.MirroredStrategy(distribute.split_cpu(2))
    if argv[0] == "steps":
        if "--unscaled" in argv:
            unscale()
        result = steps(strategy)
    else:
        result = train(strategy, argv[1])
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
