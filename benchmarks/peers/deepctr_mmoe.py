"""DeepCTR's MMoE on the prepared census arrays (runs in DeepCTR's venv).

    TF_USE_LEGACY_KERAS=1 python deepctr_mmoe.py DATA_DIR SEED OUTPUT
"""

import os
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from deepctr.feature_column import DenseFeat, SparseFeat  # noqa: E402
from deepctr.models import MMOE  # noqa: E402

import measure  # noqa: E402


def main(data_dir, seed, output, epochs=3, batch_size=1024):
    import deepctr
    import tf_keras

    seed = int(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    data = measure.load_encoded(data_dir)
    schema = data["schema"]
    columns = ([SparseFeat(name, vocabulary_size=size, embedding_dim=8)
                for name, size in schema["categorical"].items()]
               + [DenseFeat(name, 1) for name in schema["numeric"]])
    model = MMOE(columns, num_experts=8, expert_dnn_hidden_units=(64,),
                 tower_dnn_hidden_units=(32,), gate_dnn_hidden_units=(),
                 l2_reg_embedding=0.0, l2_reg_dnn=0.0, seed=seed,
                 task_types=("binary", "binary"),
                 task_names=measure.TASKS)
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-3),
                  loss=["binary_crossentropy", "binary_crossentropy"])
    train, test = data["train"], data["test"]
    x_train = measure.features_of(train, schema)
    seconds = []

    class Timer(tf_keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    model.fit(x_train, [train[t] for t in measure.TASKS],
              batch_size=batch_size, epochs=epochs, callbacks=[Timer()],
              verbose=0)
    x_test = measure.features_of(test, schema)
    income, marital = model.predict(x_test, batch_size=4096, verbose=0)
    rows = len(test["income"])

    serve = tf.function(lambda x: model(x, training=False))
    batches = [{k: tf.constant(v[i:i + 4096]) for k, v in x_test.items()}
               for i in range(0, rows, 4096)]
    one_row = [{k: tf.constant(v[i:i + 1]) for k, v in x_test.items()}
               for i in range(200)]
    predict_one = measure.latency_ms(
        lambda x: model.predict(x, verbose=0), one_row, calls=20)
    measure.write(output, {
        "library": f"DeepCTR {deepctr.__version__} (tf_keras "
                   f"{tf_keras.__version__}, TensorFlow {tf.__version__})",
        "seed": seed,
        "train_examples_per_s": measure.epochs_rate(len(train["income"]),
                                                    seconds),
        **measure.aucs(test, {"income": income, "marital": marital}),
        "inference_examples_per_s": measure.batch_rate(serve, batches, rows),
        **measure.latency_ms(serve, one_row),
        "predict_latency_ms_p50": predict_one["latency_ms_p50"],
        "latency_path": "tf.function over the Keras model",
        "peak_rss_mb": measure.peak_rss_mb(),
    })


if __name__ == "__main__":
    main(*sys.argv[1:4])
