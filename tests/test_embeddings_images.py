"""lecture_lib.embeddings autoencoder / attributes / copy detector / image recipes: the maths against
direct computations, retrieval against scikit-learn, tiny seeded trainings, every bad input."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from lecture_lib.checkpoints import build_model
from lecture_lib.datasets.faces import HAIR_COLOURS, face_split
from lecture_lib.embeddings import attributes as A
from lecture_lib.embeddings import duplicates as dup
from lecture_lib.embeddings import recipes as image_recipes
from lecture_lib.embeddings.autoencoder import FaceAutoencoder, decode, encode
from lecture_lib.embeddings.training import train_attribute_classifier, train_autoencoder, train_copy_detector
from lecture_lib.faces.models import FaceEmbedder


@pytest.fixture(scope="module")
def faces():
    return face_split("train", 12, 4, seed=3, size=16, strength=0.6)


# ----------------------------------------------------------------------------- autoencoder
def test_autoencoder_shapes_and_range():
    m = FaceAutoencoder(latent_dim=7, width=4, image_size=16).eval()
    x = torch.rand(5, 3, 16, 16)
    z = m.encode(x)
    assert z.shape == (5, 7)
    y = m.decode(z)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    torch.testing.assert_close(m(x), y)


def test_autoencoder_seeded_without_touching_global_rng():
    state = torch.random.get_rng_state()
    a, b = FaceAutoencoder(seed=4, width=4), FaceAutoencoder(seed=4, width=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(next(FaceAutoencoder(seed=5, width=4).parameters()), next(a.parameters()))


def test_autoencoder_bad_inputs():
    with pytest.raises(ValueError, match="multiple of 8, got 20"):
        FaceAutoencoder(image_size=20)
    with pytest.raises(TypeError, match="latent_dim must be an int"):
        FaceAutoencoder(latent_dim=4.0)
    m = FaceAutoencoder(latent_dim=6, width=4, image_size=16)
    with pytest.raises(ValueError, match=r"Tensor\[B, 3, 16, 16\], got \(2, 3, 32, 32\)"):
        m.encode(torch.rand(2, 3, 32, 32))
    with pytest.raises(TypeError, match="float"):
        m.encode(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"latents must be a Tensor\[B, 6\], got \(2, 5\)"):
        m.decode(torch.rand(2, 5))
    with pytest.raises(ValueError, match=r"Tensor\[N, 6\]"):
        decode(m, torch.rand(3))


def test_training_lowers_the_error_and_encode_restores_mode(faces):
    model, hist = train_autoencoder(faces.images, steps=15, epochs=2, batch_size=16, seed=0)
    mse = hist.metrics["mse"]
    untrained = FaceAutoencoder(image_size=16, seed=0).eval()
    assert mse[-1] < torch.nn.functional.mse_loss(untrained(faces.images), faces.images).item()
    model.train()
    z = encode(model, faces.images)
    assert model.training
    model.eval()
    torch.testing.assert_close(z, model.encode(faces.images))
    torch.testing.assert_close(decode(model, z), model.decode(z))


# ----------------------------------------------------------------------------- arithmetic
def test_attribute_vector_is_the_mean_difference():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(30, 5, generator=g)
    has = torch.rand(30, generator=g) < 0.4
    want = np.mean(z.numpy()[has.numpy()], 0) - np.mean(z.numpy()[~has.numpy()], 0)
    np.testing.assert_allclose(A.attribute_vector(z, has).numpy(), want, rtol=1e-5, atol=1e-6)
    # a planted direction is recovered exactly when the rest is the same on both sides
    base = torch.randn(1, 5, generator=g).repeat(10, 1)
    d = torch.tensor([1.0, -2.0, 0.0, 0.5, 3.0])
    mask = torch.arange(10) < 4
    torch.testing.assert_close(A.attribute_vector(base + mask[:, None] * d, mask), d)


def test_apply_attribute_direct():
    z, v = torch.randn(4, 3), torch.randn(3)
    torch.testing.assert_close(A.apply_attribute(z, v, -1.5), z - 1.5 * v)


def test_arithmetic_bad_inputs():
    z = torch.randn(6, 3)
    with pytest.raises(ValueError, match="need faces with and without the attribute, got 6 with of 6"):
        A.attribute_vector(z, torch.ones(6, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"has must be a bool Tensor\[6\]"):
        A.attribute_vector(z, torch.ones(6))
    with pytest.raises(ValueError, match=r"latents must be a float Tensor\[N, D\]"):
        A.attribute_vector(torch.ones(6, dtype=torch.long), torch.ones(6, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"vector must be a Tensor\[3\]"):
        A.apply_attribute(z, torch.randn(4), 1.0)
    with pytest.raises(TypeError, match="strength must be a number"):
        A.apply_attribute(z, torch.randn(3), "1")


def test_flip_rate_counts_only_faces_without_the_attribute():
    before = torch.tensor([False, False, False, True, False])
    after = torch.tensor([True, False, True, True, False])
    assert A.flip_rate(before, after) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="nothing can flip"):
        A.flip_rate(torch.ones(3, dtype=torch.bool), torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"after must be a bool Tensor\[5\]"):
        A.flip_rate(before, after[:4])


@pytest.mark.parametrize("target", [0.0, 0.5, 0.8, 0.95])
def test_choose_strength_brute_force(target):
    strengths, rates = [0.5, 1.0, 2.0, 3.0], [0.2, 0.6, 0.9, 0.85]
    ok = [s for s, r in zip(strengths, rates) if r >= target]
    want = min(ok) if ok else 2.0  # none reaches 0.95: the best rate's strength
    assert A.choose_strength(strengths, rates, target) == want


def test_choose_strength_bad_inputs():
    with pytest.raises(ValueError, match="increasing"):
        A.choose_strength([1.0, 0.5], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        A.choose_strength([1.0, 2.0], [0.1], 0.5)
    with pytest.raises(ValueError, match="target must be a rate"):
        A.choose_strength([1.0], [0.1], 80)


def test_identity_kept_direct():
    g = torch.Generator().manual_seed(1)
    a = torch.nn.functional.normalize(torch.randn(20, 4, generator=g), dim=1)
    b = torch.nn.functional.normalize(a + 0.6 * torch.randn(20, 4, generator=g), dim=1)
    want = np.mean([float(((a[i] - b[i]) ** 2).sum()) <= 0.5 for i in range(20)])
    assert A.identity_kept(a, b, 0.5) == pytest.approx(want)
    with pytest.raises(ValueError, match="same shape"):
        A.identity_kept(a, b[:3], 0.5)


@pytest.mark.parametrize("seed", range(3))
def test_retrieve_matches_sklearn(seed):
    g = torch.Generator().manual_seed(seed)
    gallery, queries = torch.randn(40, 6, generator=g), torch.randn(7, 6, generator=g)
    idx, dist = A.retrieve(queries, gallery, k=5)
    d_ref, i_ref = NearestNeighbors(n_neighbors=5).fit(gallery.numpy()).kneighbors(queries.numpy())
    assert idx.tolist() == i_ref.tolist()
    np.testing.assert_allclose(dist.numpy(), d_ref, rtol=1e-5)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 40\], got 41"):
        A.retrieve(queries, gallery, k=41)
    with pytest.raises(ValueError, match="queries have D=6 but the gallery has D=5"):
        A.retrieve(queries, gallery[:, :5], k=1)


# ----------------------------------------------------------------------------- the judge
def test_attribute_targets_and_classifier(faces):
    y = A.attribute_targets(faces.attributes)
    assert y.shape == (len(faces), 3)
    assert y[:, 0].tolist() == faces.attributes["glasses"].long().tolist()
    model, hist = train_attribute_classifier(faces.images, faces.attributes, steps=3, batch_size=8, width=4)
    assert len(hist.batch_loss) == 3
    scores = A.attribute_scores(model, faces.images)
    assert scores["glasses"].shape == (len(faces),)
    assert scores["hair_colour"].shape == (len(faces), len(HAIR_COLOURS))
    torch.testing.assert_close(scores["hair_colour"].sum(1), torch.ones(len(faces)))
    with pytest.raises(ValueError, match=r"attributes lack \['smiling', 'hair_colour'\]"):
        A.attribute_targets({"glasses": faces.attributes["glasses"]})
    with pytest.raises(ValueError, match="one per label row"):
        train_attribute_classifier(faces.images[:5], faces.attributes, steps=1)


# ----------------------------------------------------------------------------- copy detector
def test_info_nce_matches_its_formula():
    g = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(6, 4, generator=g), dim=1)
    b = torch.nn.functional.normalize(torch.randn(6, 4, generator=g), dim=1)
    t = 0.2
    s = (a @ b.T / t).double()
    rows = [-(s[i, i] - torch.logsumexp(s[i], 0)) for i in range(6)]
    cols = [-(s[i, i] - torch.logsumexp(s[:, i], 0)) for i in range(6)]
    want = (sum(rows) / 6 + sum(cols) / 6) / 2
    assert dup.info_nce(a, b, t).item() == pytest.approx(want.item(), rel=1e-5)
    with pytest.raises(ValueError, match="same shape with B >= 2"):
        dup.info_nce(a, b[:5])
    with pytest.raises(ValueError, match="temperature must be > 0"):
        dup.info_nce(a, b, 0.0)


def test_random_perturbation_rows_and_seeding():
    x = torch.rand(20, 3, 8, 8)
    out = dup.random_perturbation(x, generator=torch.Generator().manual_seed(0), kinds=("flip", "colour"))
    flipped = [torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x)]
    assert 0 < sum(flipped) < 20  # both kinds drawn
    again = dup.random_perturbation(x, generator=torch.Generator().manual_seed(0), kinds=("flip", "colour"))
    torch.testing.assert_close(out, again)
    with pytest.raises(ValueError, match="kinds must be a non-empty subset"):
        dup.random_perturbation(x, kinds=("blur",))


def test_train_copy_detector_tiny(faces):
    model, hist = train_copy_detector(faces.images, steps=2, batch_size=8, embedding_dim=8, width=4)
    assert isinstance(model, dup.CopyDetector) and isinstance(model.net, FaceEmbedder)
    assert len(hist.batch_loss) == 2
    e = dup.embed_for_search(model, faces.images[:4])
    torch.testing.assert_close(e.norm(dim=1), torch.ones(4))


# ----------------------------------------------------------------------------- recipes
TINY = dict(n_train=6, train_images=2, n_val=3, val_images=2, n_test=3, test_images=2, size=16)


def test_face_sets_are_disjoint_people():
    sets = image_recipes.face_sets(data=TINY)
    labels = {p: set(s.labels.tolist()) for p, s in sets.items()}
    assert labels["train"] == set(range(6)) and labels["val"] == {6, 7, 8} and labels["test"] == {9, 10, 11}
    assert not torch.equal(sets["val"].images, sets["test"].images[: len(sets["val"])])


def test_recipes_build_loadable_models():
    out = image_recipes.build_faces(
        data=TINY,
        ae=dict(steps=2, epochs=1, batch_size=4, width=4, latent_dim=5),
        classifier=dict(steps=2, width=4),
    )
    ae, clf = build_model(out["autoencoder"]), build_model(out["classifier"])
    x = image_recipes.face_sets(("val",), TINY)["val"].images
    assert ae(x).shape == x.shape and clf(x).shape == (x.shape[0], 2 + len(HAIR_COLOURS))
    copies = image_recipes.build_copies(
        dict(n_ids=4, images=2, steps=2, batch_size=4, width=4, input_size=8), TINY
    )
    assert build_model(copies["model"])(x).shape == (x.shape[0], 64)
    assert {"embeddings_faces.pt", "embeddings_copies.pt"} <= set(image_recipes.CHECKPOINTS)
