"""The image half of notebooks/07_embeddings.ipynb, as cells for ``tools/nb.py build``.

``CELLS = [("md" | "code", source), ...]``: "Vector arithmetic on images" (attribute arithmetic with
a strength slider, flip rate, identity kept, retrieval by arithmetic) and "Recognition services"
(tagging, near-duplicate search). They expect ``cfg`` (``lecture_lib.setup``) and ``ledger`` from the
notebook's setup cell; the last cell only adds this half's ledger rows.
"""

CELLS = [
    (
        "md",
        r"""
## Vector arithmetic on images

The slide's algebra is not about words: any network that maps images to vectors *and back* lets us
do it with pictures. We train an **autoencoder** on notebook 06's drawn faces: an encoder squeezes a
32 × 32 face into D numbers (its *latent*), a decoder draws the face back from them. The direction of
an attribute is a difference of means,

  v_glasses = mean(latents of faces with glasses) − mean(latents of faces without),

and "this face, with glasses" is decode(z + s · v_glasses) for a strength s. The networks were
trained by `lecture_lib.embeddings.recipes` (`data/embeddings_faces.pt`); the people below are
new to them, and to notebook 06's face embedding.""",
    ),
    (
        "code",
        r"""
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

import lecture_lib.data
from lecture_lib import viz, widgets
from lecture_lib.checkpoints import build_model, load_checkpoint, load_model
from lecture_lib.datasets.faces import HAIR_COLOURS, verification_pairs
from lecture_lib.embeddings import attributes as attr, autoencoder as AE, duplicates as dup
from lecture_lib.embeddings import recipes, tagging
from lecture_lib.faces import embed
from lecture_lib.ledger import all_of, at_least, at_most
from lecture_lib.metrics.verification import best_threshold

SI = cfg.pick(quick=dict(strengths=[1.0, 1.5, 2.0, 2.5, 3.0], live_steps=40, k=5, n_index=4000,
                         n_val=1000, n_test=1000, imagenet=False, celeba_faces=0, celeba_steps=0),
              full=dict(strengths=[1.0, 1.5, 2.0, 2.5, 3.0], live_steps=400, k=5, n_index=9600,
                        n_val=1000, n_test=1000, imagenet=True, celeba_faces=50000,
                        celeba_steps=3000))""",
    ),
    (
        "code",
        r"""
ck = load_checkpoint("embeddings_faces.pt")
ae, judge = build_model(ck["autoencoder"]), build_model(ck["classifier"])
face_net = load_model("faces_methods.pt", "semi_hard")      # notebook 06's face embedding (triplet loss)
faces = recipes.face_sets(data=ck["data"])            # train / val / test: different people
Z = {part: AE.encode(ae, f.images) for part, f in faces.items()}
print({part: tuple(f.images.shape) for part, f in faces.items()}, "-> latents of D =", ae.latent_dim)""",
    ),
    (
        "md",
        r"""
First, does the autoencoder draw faces back? A short live run from scratch shows how training
starts; the stored network trained for much longer (its error curve is in the checkpoint).""",
    ),
    (
        "code",
        r"""
live, live_hist = AE.train_autoencoder(faces["train"].images, steps=SI.live_steps, seed=1)
stored_mse = ck["history"]["metrics"]["mse"]
test_mse = F.mse_loss(AE.decode(ae, Z["test"]), faces["test"].images).item()
print(f"live run, {SI.live_steps} steps: pixel MSE {live_hist.metrics['mse'][-1]:.4f} | stored net, "
      f"{ck['ae']['steps'] * ck['ae']['epochs']} steps: {stored_mse[-1]:.4f} (train), "
      f"{test_mse:.4f} (new people)")
pick = torch.arange(0, 48, 6)
x = faces["test"].images[pick]
shown = [x, AE.decode(ae, Z["test"][pick]), AE.decode(live, AE.encode(live, x))]
fig = viz.show_images(torch.cat(shown), ncols=8, size=0.9,
                      suptitle="new faces (top), stored autoencoder (middle), live run (bottom)")""",
    ),
    (
        "md",
        r"""
The decoded faces are a little blurred but keep skin, hair, pose and glasses. Now the attribute
vector, and a slider for its strength (negative strengths take glasses *off*).""",
    ),
    (
        "code",
        r"""
has = {"glasses": faces["train"].attributes["glasses"],
       "blond hair": faces["train"].attributes["hair_colour"] == list(HAIR_COLOURS).index("blond")}
vec = {name: attr.attribute_vector(Z["train"], mask) for name, mask in has.items()}
row = torch.nonzero(~faces["test"].attributes["glasses"]).flatten()[:6]   # six new faces without glasses


def show_edit(attribute="glasses", strength=2.0):
    edited = AE.decode(ae, attr.apply_attribute(Z["test"][row], vec[attribute], strength))
    viz.show_images(torch.cat([AE.decode(ae, Z["test"][row]), edited]), ncols=6, size=1.0,
                    suptitle=f"top: decoded faces; bottom: + {strength:g} x v({attribute})")
    plt.show()


widgets.explore(show_edit, attribute=list(vec), strength=(-3.0, 4.0, 0.25))""",
    ),
    (
        "md",
        r"""
**Does it work, measured?** An attribute classifier (trained on real drawn faces) judges every
decoded face before and after the edit; the *flip rate* is the share of faces without the attribute
that have it afterwards. The strength is chosen on the **validation** people (the smallest strength
flipping ≥ 90 % there) and then measured once on the **test** people.""",
    ),
    (
        "code",
        r"""
def judged(z, attribute):            # the judge's verdict on decoded faces: has the attribute?
    s = attr.attribute_scores(judge, AE.decode(ae, z))
    return s["glasses"] > 0.5 if attribute == "glasses" else s["hair_colour"].argmax(1) == 2  # 2: blond


before = {(p, a): judged(Z[p], a) for p in ("val", "test") for a in vec}   # verdicts before the edit


def flips(part, attribute, strength):
    edited = attr.apply_attribute(Z[part], vec[attribute], strength)
    return attr.flip_rate(before[part, attribute], judged(edited, attribute))


val_rates = {a: [flips("val", a, s) for s in SI.strengths] for a in vec}
strength = {a: attr.choose_strength(SI.strengths, val_rates[a], target=0.9) for a in vec}
flip_test = {a: flips("test", a, strength[a]) for a in vec}
n_flip = int((~before["test", "glasses"]).sum())
for a in vec:
    print(f"{a:10s} val flip rates {[round(r, 2) for r in val_rates[a]]} -> strength {strength[a]:g}; "
          f"test flip rate {flip_test[a]:.3f}")
assert flip_test["glasses"] >= 0.80, "attribute arithmetic should add glasses to >= 80% of new faces"
print(f"(test: {n_flip} of {len(faces['test'])} decoded faces of {faces['test'].labels.unique().numel()} "
      "new people had no glasses)")""",
    ),
    (
        "code",
        r"""
# NBVAL_CHECK_OUTPUT
print("glasses flip rate >= 0.80:", flip_test["glasses"] >= 0.80)""",
    ),
    (
        "md",
        r"""
**Is it still the same person?** Notebook 06's face embedding answers: same person if the squared
distance of two embeddings is below a threshold (chosen for best accuracy on pairs of validation
people). We compare each decoded face with its edited version, and, as a reference, different people.""",
    ),
    (
        "code",
        r"""
pairs = verification_pairs(faces["val"].labels, pairs_per_fold=200, folds=2, seed=5)
e_val = embed(face_net, faces["val"].images)
threshold, val_acc = best_threshold((e_val[pairs["i"]] - e_val[pairs["j"]]).pow(2).sum(1), pairs["same"])
e_rec = embed(face_net, AE.decode(ae, Z["test"]))
kept = {a: attr.identity_kept(e_rec, embed(face_net, AE.decode(ae, attr.apply_attribute(Z["test"], vec[a],
                                                                                  strength[a]))), threshold)
        for a in vec}
other = attr.identity_kept(e_rec, e_rec.roll(faces["test"].labels.bincount().max().item(), 0), threshold)
print(f"threshold {threshold:.2f} (val accuracy {val_acc:.3f}); 'same person' after the edit: " +
      ", ".join(f"{a} {k:.1%}" for a, k in kept.items()) + f"; two different people: {other:.1%}")""",
    ),
    (
        "md",
        r"""
Glasses are a *nuisance* for the face embedding (06 trained it to ignore them), so adding them
keeps the person; hair colour is part of identity in this generator, so the blond edit changes the person
far more often — the embedding notices exactly what the vector changed.""",
    ),
    (
        "md",
        r"""
### Retrieval by arithmetic

"This face, with glasses" need not be drawn: look up the **real** faces nearest to z + s · v_glasses in
a gallery (the training faces). Precision@k is the share of the k retrieved faces that wear glasses.""",
    ),
    (
        "code",
        r"""
gallery, gallery_glasses = Z["train"], faces["train"].attributes["glasses"]
q = Z["test"][~faces["test"].attributes["glasses"]]
idx_plain, _ = attr.retrieve(q, gallery, SI.k)
idx_arith, _ = attr.retrieve(attr.apply_attribute(q, vec["glasses"], strength["glasses"]), gallery, SI.k)
p_plain, p_arith = (gallery_glasses[i].float().mean().item() for i in (idx_plain, idx_arith))
print(f"precision@{SI.k} for glasses over {len(q)} queries: face alone {p_plain:.3f}, "
      f"face + glasses {p_arith:.3f} (gallery base rate {gallery_glasses.float().mean():.3f})")
query_img = faces["test"].images[~faces["test"].attributes["glasses"]][:1]
fig = viz.show_images(torch.cat([query_img, faces["train"].images[idx_plain[0]], query_img,
                                 faces["train"].images[idx_arith[0]]]), ncols=1 + SI.k, size=1.0,
                      suptitle="query, then its nearest faces: alone (top), + glasses (bottom)")""",
    ),
    (
        "md",
        r"""
The query's own look (pose, skin, hair) still decides most of the neighbours; the added vector
moves the search to faces like it *with glasses*.""",
    ),
    (
        "md",
        r"""
### Full profile: the same on CelebA

In the full profile an autoencoder is trained on CelebA's aligned photos (64 px) and the
"Eyeglasses" vector, from CelebA's own labels, is added to held-out faces of its validation split;
retrieval precision is measured with those labels.""",
    ),
    (
        "code",
        r"""
if SI.celeba_faces:
    from lecture_lib.embeddings.celeba import load_celeba
    celeb, celeb_val = (load_celeba(split=s, size=64, limit=n) for s, n in (("train", SI.celeba_faces),
                                                                            ("valid", 2000)))
    cae, _ = AE.train_autoencoder(celeb.images, steps=SI.celeba_steps, model=AE.FaceAutoencoder(
        image_size=64, latent_dim=128), device=cfg.device, progress=True)
    cz, cq = AE.encode(cae, celeb.images), AE.encode(cae, celeb_val.images)
    cv = attr.attribute_vector(cz, celeb.attributes["Eyeglasses"])
    cq = cq[~celeb_val.attributes["Eyeglasses"]]
    for s in (0.0, 1.0, 2.0):
        hits = celeb.attributes["Eyeglasses"][attr.retrieve(attr.apply_attribute(cq, cv, s), cz, SI.k)[0]]
        print(f"CelebA, strength {s:g}: precision@{SI.k} for eyeglasses {hits.float().mean():.3f}")
    fig = viz.show_images(AE.decode(cae, torch.cat([cq[:6], attr.apply_attribute(cq[:6], cv, 2.0)])), ncols=6)
else:
    print("quick profile: CelebA (about 200k photos, 1.4 GB) is used in the full profile only; skipped.")""",
    ),
    (
        "md",
        r"""
## Recognition services: tags, and "is my test image in the training set?"

A recognition service is a trained classifier with a list of category names: it returns the
top-k labels of an upload ("coffee, croissant, beverage"). In the quick profile the services are this
course's own nets — the detection notebooks' shape classifier and the face-attribute judge above; the
full profile adds torchvision's ImageNet classifier with its 1000 categories.""",
    ),
    (
        "code",
        r"""
services = tagging.course_taggers()
services |= {"ImageNet": tagging.imagenet_tagger(device=cfg.device)} if SI.imagenet else {}
photo = (faces["test"].images[row[0]].permute(1, 2, 0) * 255).round().byte().numpy()
coffee = lecture_lib.data.sample_image("coffee")          # the slide's example photo
for name, t in services.items():
    for what, img in (("a drawn face", photo), ("the coffee photo", coffee)):
        tags = tagging.tag(t, img, k=3)
        print(f"{name:16s} {what:17s}", ", ".join(f"{label} {p:.2f}" for label, p in tags))""",
    ),
    (
        "md",
        r"""
A service only knows its own categories: the face judge calls the coffee cup a face with some hair
colour, the shape classifier calls it a shape. Try your own image (Jupyter or Colab):""",
    ),
    (
        "code",
        r"""
def on_image(img):
    for name, t in services.items():
        print(f"{name}:", ", ".join(f"{label} ({p:.2f})" for label, p in tagging.tag(t, img, k=5)))


widgets.image_upload(on_image, description="Tag an image")""",
    ),
    (
        "md",
        r"""
**The slide's warning, made concrete.** A test image found by a web search may have been in the
training set, perhaps cropped, resized, re-compressed, colour-shifted or mirrored, so a hash misses it.
A near-duplicate search compares **embeddings** instead. Here the training set is 07's training faces;
the queries are edited copies of some of them (each edit in turn) and as many truly new faces (new
people). The embedding is a copy detector (06's small net on 16 px images whose colour channels are
standardised, trained so that an image and an edited copy are nearest among others, on *other*
faces: `data/embeddings_copies.pt`), made mirror-proof by adding the embeddings of the image and
its mirror. The threshold is set on validation queries at a
1 % false-match budget (aiming at half of it, a margin for the noise of 1000 validation faces).""",
    ),
    (
        "code",
        r"""
train_imgs, g = faces["train"].images[:SI.n_index], torch.Generator().manual_seed(0)
rows = torch.randperm(SI.n_index, generator=g)


def queries(rows, new):                # edited copies (each kind of edit in turn), then new faces
    copies = torch.cat([dup.perturb(train_imgs[rows[k::5]], kind, generator=g) for k, kind in
                        enumerate(dup.PERTURBATIONS)])
    return torch.cat([copies, new]), torch.arange(len(copies) + len(new)) < len(copies)


q_val, c_val = queries(rows[:SI.n_val], faces["val"].images[:SI.n_val])
q_test, c_test = queries(rows[SI.n_val:SI.n_val + SI.n_test], faces["test"].images[:SI.n_test])
print("index", tuple(train_imgs.shape), "| validation queries", len(q_val), "| test queries", len(q_test))""",
    ),
    (
        "code",
        r"""
copy_net = load_model("embeddings_copies.pt")
views = dup.crop_views(train_imgs)                  # each training image, and 5 crops of it
index = torch.cat([dup.embed_for_search(copy_net, v) for v in views])
_, s_val = dup.nearest_neighbours(index, dup.embed_for_search(copy_net, q_val))
dup_t = dup.choose_threshold(s_val, c_val, max_false_match=0.005)   # half the budget: a safety margin
e_test = dup.embed_for_search(copy_net, q_test)
for name, idx in (("image only", index[:SI.n_index]), ("image + 5 crops", index)):
    _, s_test = dup.nearest_neighbours(idx, e_test)
    r = dup.duplicate_rates(s_test, c_test, dup_t)
    per_kind = {k: round((s_test[:r["copies"]].view(5, -1)[i] >= dup_t).float().mean().item(), 2)
                for i, k in enumerate(dup.PERTURBATIONS)}
    print(f"index: {name:15s} recall {r['recall']:.3f} on {r['copies']} copies, false matches "
          f"{r['false_match_rate']:.3f} on {r['new']} new faces; recall per edit {per_kind}")
dup_rates = r
print(f"threshold {dup_t:.3f} (cosine), set on {len(q_val)} validation queries")
assert dup_rates["recall"] >= 0.95 and dup_rates["false_match_rate"] <= 0.01""",
    ),
    (
        "code",
        r"""
# NBVAL_CHECK_OUTPUT
print("near-duplicate recall >= 0.95 at <= 1% false matches:",
      dup_rates["recall"] >= 0.95 and dup_rates["false_match_rate"] <= 0.01)""",
    ),
    (
        "md",
        r"""
Without the crops in the index, a cropped copy is often missed (the crop moves and enlarges the face);
with them, copies of every kind are found at the same threshold. Before
believing a service's score on "your" test images, search them against its training set.""",
    ),
    (
        "code",
        r"""
_ = ledger.add("Vector arithmetic works on images: latent + (mean with − without) adds an attribute",
               source="slides: Vector Arithmetics in Embedding Space",
               lecture="qualitative (as king − man + woman)",
               measured=f"glasses added to {flip_test['glasses']:.1%} of {n_flip} decoded test faces at "
                        f"strength {strength['glasses']:g} (chosen on validation); "
                        f"same person kept {kept['glasses']:.1%}",
               criterion=at_least(0.80, partly=0.5), value=flip_test["glasses"],
               why="the autoencoder's latent does not separate glasses from the rest of the face here",
               note=f"autoencoder on drawn {ck['data']['size']} px faces; "
                    f"blond hair flips {flip_test['blond hair']:.1%}")
_ = ledger.add("A test image may have been in the training set: near-duplicate search finds edited copies",
               source="slides: Commercial Recognition Services", lecture="qualitative warning",
               measured=f"recall {dup_rates['recall']:.3f} at false-match rate "
                        f"{dup_rates['false_match_rate']:.3f} ({dup_rates['copies']} copies, "
                        f"{dup_rates['new']} new; threshold {dup_t:.3f} from {len(q_val)} val queries)",
               criterion=all_of(at_least(0.95), at_most(0.01)),
               value=(dup_rates["recall"], dup_rates["false_match_rate"]),
               why="the copy detector is not invariant enough to the edits", note="index of drawn faces")""",
    ),
]
