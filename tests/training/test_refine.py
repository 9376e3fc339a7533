"""Trainer.refine never ends worse on the validation records; pooled fine-tuning refuses an int8 encoder."""

from __future__ import annotations

import torch

from sagepred.predictor import LengthPredictor, PredictorConfig
from sagepred.training.trainer import Trainer, TrainingConfig, length_targets


def _validation_loss(predictor: LengthPredictor, trainer: Trainer, records) -> float:
    x, n = trainer._features(records)
    predictor.head.eval()
    with torch.no_grad():
        return float(predictor.head.loss(predictor.head(x, n), *length_targets(records)))


def test_refine_improves_a_fresh_head_and_keeps_a_head_it_cannot_improve(data_dir):
    from sagepred.importers import load_records

    records = load_records(
        str(data_dir / "castillo"), model="meta-llama--Llama-3.2-1B-Instruct", split="validate"
    )
    fit, validation = records[:240], records[240:320]
    predictor = LengthPredictor(PredictorConfig(target_model="meta-llama--Llama-3.2-1B-Instruct"))
    trainer = Trainer(
        predictor, TrainingConfig(epochs=40, patience=5, seed=0, calibrate=False), progress=False
    )
    start = _validation_loss(predictor, trainer, validation)
    first = trainer.refine(fit, validation)
    assert first["val_loss_before"] == start and not first["kept_initial"]
    assert first["val_loss_after"] < start - 0.1
    assert _validation_loss(predictor, trainer, validation) == first["val_loss_after"]

    # a learning rate that only wrecks the head: every epoch is worse, so the weights stay as they were
    weights = {k: v.clone() for k, v in predictor.head.state_dict().items()}
    wild = Trainer(
        predictor, TrainingConfig(epochs=3, patience=1, learning_rate=50.0, seed=0), progress=False
    )
    second = wild.refine(fit, validation)
    assert second["kept_initial"] and second["val_loss_after"] == second["val_loss_before"]
    for key, value in predictor.head.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_pooled_fine_tuning_refuses_an_int8_encoder_before_loading_anything(tmp_path):
    import pytest

    from sagepred.encoders import FAST_ENCODER, POOLED_ENCODER, load_encoder
    from sagepred.errors import InputError
    from sagepred.training.pooled_pipeline import PooledFineTuneOptions, run_pooled_finetune

    options = PooledFineTuneOptions(encoder=FAST_ENCODER, data_dir=str(tmp_path / "no-data"))
    with pytest.raises(InputError, match=r"inference only; fine-tune .*\?layers=3$"):
        run_pooled_finetune(options)
    default = PooledFineTuneOptions().encoder  # the pooled default's layers in float32
    assert default.endswith("?pool_layers=1,2,3,4,5,6&tail=128") and "int8" not in default
    assert load_encoder(default).dim == load_encoder(POOLED_ENCODER).dim
