"""Train the course's reference digit classifier and store its weights and test accuracy in gan_lessons/bundled/.

    python data/train_classifier.py

Trains ``gan_lessons.evaluation.build_classifier()`` on the 4,000 bundled training digits (seeded,
deterministic ops), measures accuracy on the 1,000 held-out digits, and writes
``classifier.weights.h5`` and ``classifier.json``. Every lesson loads this one classifier.
"""

from __future__ import annotations

import json
import time

from gan_lessons import config, data, evaluation
from gan_lessons.config import keras

EPOCHS = 40
SEED = 0


def main() -> None:
    print(config.setup(SEED))
    digits = data.load_digits("bundled")
    x_train, x_test = data.scale_pixels(digits.x_train), data.scale_pixels(digits.x_test)
    model = evaluation.build_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(data.make_dataset(x_train, digits.y_train, batch_size=64, seed=SEED), epochs=EPOCHS, verbose=2)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, digits.y_test, verbose=0)
    weights_only = evaluation.build_classifier()  # uncompiled: the file holds no optimizer state
    weights_only.set_weights(model.get_weights())
    weights_only.save_weights(data.DATA_DIR / evaluation.CLASSIFIER_WEIGHTS)
    report = {"test_accuracy": round(float(accuracy), 4), "test_digits": len(x_test), "epochs": EPOCHS,
              "seed": SEED, "train_seconds": round(seconds, 1), "keras": keras.__version__}
    (data.DATA_DIR / evaluation.CLASSIFIER_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    print(report)


if __name__ == "__main__":
    main()
