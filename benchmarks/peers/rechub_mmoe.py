"""torch-rechub's MMoE on the prepared census arrays (runs in its venv).

    python rechub_mmoe.py DATA_DIR SEED OUTPUT
"""

import sys
import tempfile
import time

import numpy as np
import torch
from torch_rechub.basic.features import DenseFeature, SparseFeature
from torch_rechub.models.multi_task import MMOE
from torch_rechub.trainers import MTLTrainer
from torch_rechub.utils.data import DataGenerator

import measure


def main(data_dir, seed, output, epochs=3, batch_size=1024):
    import importlib.metadata

    seed = int(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    data = measure.load_encoded(data_dir)
    schema = data["schema"]
    features = ([SparseFeature(name, vocab_size=size, embed_dim=8)
                 for name, size in schema["categorical"].items()]
                + [DenseFeature(name) for name in schema["numeric"]])
    model = MMOE(features, task_types=["classification"] * 2, n_expert=8,
                 expert_params={"dims": [64]},
                 tower_params_list=[{"dims": [32]}, {"dims": [32]}])
    train, test = data["train"], data["test"]

    def inputs(split):
        return {name: (split[name].astype(np.int64)
                       if name in schema["categorical"]
                       else split[name].astype(np.float32))
                for name in measure.features_of(split, schema)}

    def labels(split):
        return np.stack([split[t] for t in measure.TASKS], axis=1)

    train_loader, _, test_loader = DataGenerator(
        inputs(train), labels(train)).generate_dataloader(
        x_val=inputs(test), y_val=labels(test), x_test=inputs(test),
        y_test=labels(test), batch_size=batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = MTLTrainer(model, task_types=["classification"] * 2,
                             optimizer_params={"lr": 1e-3,
                                               "weight_decay": 0.0},
                             n_epoch=epochs, device="cpu", model_path=tmp)
        seconds = []
        for _ in range(epochs):
            start = time.perf_counter()
            trainer.train_one_epoch(train_loader)
            seconds.append(time.perf_counter() - start)
    model.eval()
    x_test = {k: torch.from_numpy(v) for k, v in inputs(test).items()}
    rows = len(test["income"])
    with torch.inference_mode():
        probabilities = model(x_test).numpy()
        batches = [{k: v[i:i + 4096] for k, v in x_test.items()}
                   for i in range(0, rows, 4096)]
        one_row = [{k: v[i:i + 1] for k, v in x_test.items()}
                   for i in range(200)]
        rate = measure.batch_rate(model, batches, rows)
        latency = measure.latency_ms(model, one_row)
    measure.write(output, {
        "library": f"torch-rechub "
                   f"{importlib.metadata.version('torch-rechub')} "
                   f"(torch {torch.__version__})",
        "seed": seed,
        "train_examples_per_s": measure.epochs_rate(len(train["income"]),
                                                    seconds),
        **measure.aucs(test, {"income": probabilities[:, 0],
                              "marital": probabilities[:, 1]}),
        "inference_examples_per_s": rate,
        **latency,
        "latency_path": "eager forward under torch.inference_mode",
        "peak_rss_mb": measure.peak_rss_mb(),
    })


if __name__ == "__main__":
    main(*sys.argv[1:4])
