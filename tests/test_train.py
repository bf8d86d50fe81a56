import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lecture_lib import train


def _toy(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()  # linearly separable
    return DataLoader(
        TensorDataset(x, y), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )


def test_fit_learns_and_records_history():
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    loader = _toy()
    before = train.accuracy(model, loader)
    h = train.fit(
        model, loader, epochs=5, lr=0.1, progress=False, eval_fn=lambda m: {"acc": train.accuracy(m, loader)}
    )
    assert h.epochs == 5 and len(h.metrics["acc"]) == 5 and len(h.batch_loss) == 5 * 8
    assert h.train_loss[-1] < h.train_loss[0]
    assert before < 0.95 <= h.metrics["acc"][-1]
    assert h.seconds > 0
    assert not model.training


def test_fit_is_reproducible():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        runs.append(train.fit(model, _toy(), epochs=2, lr=0.1, progress=False).batch_loss)
    assert runs[0] == runs[1]


def test_history_roundtrip():
    h = train.History(train_loss=[1.0, 0.5], metrics={"acc": [0.1, 0.9]}, batch_loss=[1.0], seconds=2.0)
    assert train.History.from_dict(h.as_dict()) == h


def test_custom_loss_and_frozen_params():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    frozen = model[0].weight.clone()
    calls = []

    def loss_fn(m, batch):
        calls.append(1)
        return nn.functional.cross_entropy(m(batch[0]), batch[1])

    train.fit(model, _toy(), epochs=1, loss_fn=loss_fn, progress=False)
    assert calls and torch.equal(model[0].weight, frozen)


def test_bad_inputs():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        train.fit(model, _toy(), epochs=0)
    with pytest.raises(ValueError, match="empty loader"):
        train.fit(model, [], epochs=1, progress=False)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no parameters with requires_grad"):
        train.fit(model, _toy(), epochs=1)


def test_diverging_loss_is_reported():
    model = nn.Linear(2, 2)
    loader = [(torch.tensor([[float("nan"), 0.0]]), torch.tensor([0]))]
    with pytest.raises(FloatingPointError, match="loss became nan"):
        train.fit(model, loader, epochs=1, progress=False)


def test_multitask_dict_loss_records_parts_and_batch_scheduler():
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    loader = _toy()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    def two_losses(m, batch):
        out = m(batch[0])
        return {"cls": nn.functional.cross_entropy(out, batch[1]), "l2": 0.01 * out.pow(2).mean()}

    h = train.fit(
        model,
        loader,
        epochs=2,
        optimizer=opt,
        loss_fn=two_losses,
        scheduler=sched,
        scheduler_step="batch",
        progress=False,
    )
    assert set(h.batch_parts) == {"cls", "l2"} and len(h.batch_parts["cls"]) == 16
    assert h.batch_loss[0] == pytest.approx(h.batch_parts["cls"][0] + h.batch_parts["l2"][0])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**16)  # stepped once per batch
    assert train.History.from_dict(h.as_dict()) == h
    with pytest.raises(ValueError, match="scheduler_step must be 'epoch' or 'batch', got 'step'"):
        train.fit(model, loader, epochs=1, scheduler=sched, scheduler_step="step")


def test_random_batches_are_seeded_and_sized():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    batches = list(train.RandomBatches(x, y, batch_size=4, steps=3, seed=1))
    assert len(batches) == 3 and all(b[0].shape == (4, 1) for b in batches)
    again = list(train.RandomBatches(x, y, batch_size=4, steps=3, seed=1))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    other = list(train.RandomBatches(x, y, batch_size=4, steps=3, seed=2))
    assert not all(torch.equal(a[1], b[1]) for a, b in zip(batches, other))
    with pytest.raises(ValueError, match="same, non-zero number"):
        train.RandomBatches(x, y[:3], batch_size=4, steps=1)


def test_predict_batches_and_keeps_train_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    x = torch.randn(10, 3)
    model.train()
    out = train.predict(model, x, batch_size=3)
    assert model.training  # the caller's state is restored
    model.eval()
    torch.testing.assert_close(out, model(x))  # eval-mode output, whatever the chunking
    assert not out.requires_grad
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        train.predict(model, x, batch_size=0)
    with pytest.raises(ValueError, match="empty input"):
        train.predict(model, x[:0])


def test_timed_protocol_counts_calls_and_reports_spread():
    calls = []
    t = train.timed(lambda: calls.append(1), repeat=5, warmup=2)
    assert len(calls) == 7 and t.repeat == 5 and t.warmup == 2
    assert t.min <= t.median <= t.max
    assert "median of 5" in str(t)
    with pytest.raises(ValueError, match="repeat must be an int >= 1"):
        train.timed(lambda: None, repeat=0)
    with pytest.raises(TypeError, match="callable"):
        train.timed(3)


@pytest.mark.parametrize("device", [None, "cuda:0"])
def test_timed_synchronizes_cuda_before_reading_the_clock(monkeypatch, device):
    events = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: events.append("sync"))
    clock = iter(range(100))
    monkeypatch.setattr(train.time, "perf_counter", lambda: events.append("clock") or float(next(clock)))
    t = train.timed(lambda: events.append("fn"), repeat=2, warmup=1, device=device)
    # the warm-up's kernels finish before the first reading; each fn()'s before the next
    assert events == ["fn"] + ["sync", "clock", "fn", "sync", "clock"] * 2
    assert t.times == (1.0, 1.0)


def test_timed_does_not_synchronize_on_cpu(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(device))
    train.timed(lambda: None, repeat=2, device="cpu")
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)  # CUDA present but unused
    train.timed(lambda: None, repeat=2)
    assert calls == []
