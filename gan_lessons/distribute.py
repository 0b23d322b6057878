"""One update whatever the number of devices: what a custom ``train_step`` must do itself under
``tf.distribute`` (``MirroredStrategy``, ``MultiWorkerMirroredStrategy``).

A strategy runs ``train_step`` once per replica, each on its share of the global batch, and *sums*
the replicas' gradients. A step that takes the mean loss over its own share must divide its
gradients by the number of replicas, or the step size grows with the number of devices
(:func:`scaled_for_replicas`). Every replica also starts its random draws from the same copy of the
seed state, so it must keep its own rows of one draw for the whole global batch, or all replicas
draw the same noise (:func:`replica_draw`). With one device both change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gan_lessons.config import keras, tf


def split_cpu(devices: int = 2) -> list[str]:
    """Split this machine's CPU into ``devices`` logical devices, so that a strategy can be tried
    without several GPUs: call it before TensorFlow runs anything (first thing in a notebook)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != devices:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        except RuntimeError as error:
            raise RuntimeError(f"TensorFlow has already started in this process, so its CPU can no longer be split: "
                               f"restart the kernel and call distribute.split_cpu({devices}) before anything else "
                               "runs") from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def replicas_in_sync() -> int:
    """How many replicas run this step together: 1 outside a strategy and in cross-replica code."""
    context = tf.distribute.get_replica_context()
    return 1 if context is None else int(context.num_replicas_in_sync)


def scaled_for_replicas(gradients: Sequence) -> list:
    """This replica's gradients (of its mean loss over its share of the batch) divided by the number
    of replicas in sync: the strategy sums them, and the sum of N share means over N is the mean
    over the global batch, so N devices make the update one device makes on the whole batch."""
    replicas = replicas_in_sync()
    if replicas == 1:
        return list(gradients)
    return [_divided(gradient, replicas) for gradient in gradients]


def _divided(gradient, replicas: int):
    if gradient is None:  # a variable the loss does not reach
        return None
    if isinstance(gradient, tf.IndexedSlices):  # the rows an Embedding looked up
        return tf.IndexedSlices(gradient.values / replicas, gradient.indices, gradient.dense_shape)
    return gradient / replicas


def replica_draw(draw: Callable, shape: Sequence, seed: keras.random.SeedGenerator) -> tf.Tensor:
    """``draw(shape, seed=seed)`` (e.g. ``keras.random.normal``) for this replica's rows: each replica
    draws for the global batch (its rows × the replicas) from the shared seed state and keeps its own
    slice, so N replicas together draw exactly what one device draws for the whole batch."""
    replicas = replicas_in_sync()
    if replicas == 1:
        return draw(shape, seed=seed)
    rows = shape[0]
    everything = draw((rows * replicas, *shape[1:]), seed=seed)
    first = tf.distribute.get_replica_context().replica_id_in_sync_group * rows
    return everything[first : first + rows]


def check_steps_per_execution(model: keras.Model) -> None:
    """A clear error, before training starts, instead of TensorFlow's ``You must feed a value for
    placeholder tensor …/cond/Placeholder`` from the first step: in this Keras a ``fit`` with
    ``steps_per_execution > 1`` fails under a strategy with several replicas, for any model (a one-layer
    ``Sequential`` too; tests/test_distributed.py notices when a Keras release fixes it)."""
    replicas = model.distribute_strategy.num_replicas_in_sync
    if replicas > 1 and model.steps_per_execution > 1:
        raise ValueError(
            f"steps_per_execution={model.steps_per_execution} does not train under a strategy with {replicas} "
            f"replicas in Keras {keras.__version__}: its fit fails with 'You must feed a value for placeholder "
            "tensor', for any model. Compile with steps_per_execution=1 (the recipes choose 1 under a strategy)")


def steps_per_execution(requested: int) -> int:
    """``requested`` steps per call into TensorFlow, or 1 inside a strategy with several replicas
    (see :func:`check_steps_per_execution`)."""
    return 1 if tf.distribute.get_strategy().num_replicas_in_sync > 1 else requested


class PipelineAtFitStart(keras.callbacks.Callback):
    """Put a ``data.make_dataset`` pipeline back at the pass it was at when ``fit`` started, just before
    training: under a strategy Keras pulls one batch to build the model first, and the pipeline, which
    draws each pass's order and pixels from its pass number, would count that as a pass."""

    def __init__(self, pass_counter: tf.Variable):
        super().__init__()
        self.pass_counter = pass_counter
        self.start = int(pass_counter.numpy())

    def on_train_begin(self, logs=None):
        self.pass_counter.assign(self.start)


class DistributedFit:
    """Mixin for the course's models: ``fit`` refuses settings that fail under a strategy, with the fix,
    and starts a ``data.make_dataset`` pipeline at the pass it would start at on one device."""

    def fit(self, x=None, *args, **kwargs):
        pass_counter = getattr(x, "pipeline_epoch", None)
        if isinstance(pass_counter, tf.Variable) and len(args) < 5:  # callbacks were not given by position
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), PipelineAtFitStart(pass_counter)]
        return super().fit(x, *args, **kwargs)

    def make_train_function(self, force: bool = False):
        check_steps_per_execution(self)
        return super().make_train_function(force)
