"""The weight-file table of the deepface models personax uses: where each file lives and comes from
(see :mod:`personax.faces.weights`, which re-exports every name)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Backend engine whose file names the registry lists (see module docstring).
BACKEND_ENGINE = "pytorch"


@dataclass(frozen=True)
class WeightFile:
    """One weight file deepface loads from its weights folder.

    Attributes
    ----------
    name : str
        File name (relative to the weights folder) deepface looks for.
    urls : tuple of str
        Download sources in order (deepface's own ``WEIGHTS_URL`` list).
    compress : {None, "bz2"}
        Compression of the download (dlib files come ``.bz2``-compressed).
    module : str
        deepface module whose code names this file (used by the tests to check the
        registry against the installed deepface).
    url_attr : str or None
        Name of the URL constant in ``module`` (``None`` when the URL is built inline).
    """

    name: str
    urls: tuple[str, ...]
    compress: str | None = None
    module: str = ""
    url_attr: str | None = None


@dataclass(frozen=True)
class ModelWeights:
    """The weight files of one deepface model.

    Attributes
    ----------
    name : str
        Model name as deepface spells it (``"Dlib"``, ``"Emotion"``, ``"opencv"``).
    task : {"embedding", "attribute", "detector"}
        What the model does.
    files : tuple of WeightFile
        Files that must be present in the weights folder.
    output_dim : int or None
        Embedding size (embedding models only).
    system_paths : tuple of str
        Folders searched before the weights folder (OpenCV's own ``cv2/data`` for the Haar
        cascades), mirroring deepface's lookup order.
    bundled : str or None
        Name of the pip package that ships the files (linked offline), if any.
    needs : tuple of str
        Python packages the model needs besides deepface.
    """

    name: str
    task: str
    files: tuple[WeightFile, ...]
    output_dim: int | None = None
    system_paths: tuple[str, ...] = field(default_factory=tuple)
    bundled: str | None = None
    needs: tuple[str, ...] = field(default_factory=tuple)


def _gh_hf(file_name: str) -> tuple[str, ...]:
    # deepface 0.0.103 hosts every pytorch weight file on its GitHub release, with a
    # Hugging Face mirror as the backup source (the WEIGHTS_URL lists in its modules).
    return (
        f"https://github.com/serengil/deepface_models/releases/download/v1.0/{file_name}",
        f"https://huggingface.co/serengil/deepface/resolve/main/{file_name}",
    )


def _torch_file(file_name: str, module: str, url_attr: str = "WEIGHTS_URL") -> WeightFile:
    return WeightFile(file_name, _gh_hf(file_name), None, module, url_attr)


_FR = "deepface.models.facial_recognition"
_DEM = "deepface.models.demography.pytorch"
_DET = "deepface.models.face_detection"

_DLIB_RECOGNITION = WeightFile(
    "dlib_face_recognition_resnet_model_v1.dat",
    ("https://dlib.net/files/dlib_face_recognition_resnet_model_v1.dat.bz2",),
    "bz2", f"{_FR}.dlib.Dlib", "WEIGHT_URL")
_DLIB_SHAPE5 = WeightFile(
    "shape_predictor_5_face_landmarks.dat",
    ("https://dlib.net/files/shape_predictor_5_face_landmarks.dat.bz2",),
    "bz2", f"{_DET}.Dlib", "WEIGHTS_URL")
_HAAR = "https://github.com/opencv/opencv/raw/4.9.0/data/haarcascades/{}"

_models: list[ModelWeights] = [
    # --- embedding models (deepface "facial_recognition" task, pytorch engine) ---
    ModelWeights("VGG-Face", "embedding", (_torch_file("vgg_face_weights.pth", f"{_FR}.pytorch.VGGFace"),), 4096),
    ModelWeights("Facenet", "embedding",
                 (_torch_file("facenet_weights.pth", f"{_FR}.pytorch.Facenet", "FACENET128_WEIGHTS"),), 128),
    ModelWeights("Facenet512", "embedding",
                 (_torch_file("facenet512_weights.pth", f"{_FR}.pytorch.Facenet", "FACENET512_WEIGHTS"),), 512),
    ModelWeights("OpenFace", "embedding", (_torch_file("openface_weights.pth", f"{_FR}.pytorch.OpenFace"),), 128),
    ModelWeights("DeepFace", "embedding",
                 (_torch_file("VGGFace2_DeepFace_weights_val-0.9034.pth", f"{_FR}.pytorch.FbDeepFace"),), 4096),
    ModelWeights("DeepID", "embedding", (_torch_file("deepid_weights.pth", f"{_FR}.pytorch.DeepID"),), 160),
    ModelWeights("ArcFace", "embedding", (_torch_file("arcface_weights.pth", f"{_FR}.pytorch.ArcFace"),), 512),
    ModelWeights("GhostFaceNet", "embedding",
                 (_torch_file("ghostfacenet_v1.pth", f"{_FR}.pytorch.GhostFaceNet"),), 512),
    ModelWeights("SFace", "embedding", (WeightFile(
        "face_recognition_sface_2021dec.onnx",
        ("https://github.com/opencv/opencv_zoo/raw/main/models/face_recognition_sface/face_recognition_sface_2021dec.onnx",),
        None, f"{_FR}.onnx.SFace", "WEIGHTS_URL"),), 128, needs=("onnxruntime",)),
    ModelWeights("Dlib", "embedding", (_DLIB_RECOGNITION,), 128, bundled="face-recognition-models",
                 needs=("dlib",)),
    # --- attribute models (deepface "facial_attribute" task); keys are analyze() actions ---
    ModelWeights("Emotion", "attribute", (_torch_file("facial_expression_model_weights.pth", f"{_DEM}.Emotion"),)),
    ModelWeights("Age", "attribute", (_torch_file("age_model_weights.pth", f"{_DEM}.Age"),)),
    ModelWeights("Gender", "attribute", (_torch_file("gender_model_weights.pth", f"{_DEM}.Gender"),)),
    ModelWeights("Race", "attribute", (_torch_file("race_model_single_batch.pth", f"{_DEM}.Race"),)),
    # --- detectors ---
    ModelWeights("skip", "detector", ()),
    ModelWeights("opencv", "detector", (
        WeightFile("haarcascade_frontalface_default.xml", (_HAAR.format("haarcascade_frontalface_default.xml"),),
                   None, f"{_DET}.OpenCv", None),
        WeightFile("haarcascade_eye.xml", (_HAAR.format("haarcascade_eye.xml"),), None, f"{_DET}.OpenCv", None),
    ), system_paths=("cv2/data",)),
    ModelWeights("dlib", "detector", (_DLIB_SHAPE5,), bundled="face-recognition-models", needs=("dlib",)),
    ModelWeights("ssd", "detector", (
        WeightFile("deploy.prototxt",
                   ("https://github.com/opencv/opencv/raw/3.4.0/samples/dnn/face_detector/deploy.prototxt",),
                   None, f"{_DET}.Ssd", "MODEL_URL"),
        WeightFile("res10_300x300_ssd_iter_140000.caffemodel",
                   ("https://github.com/opencv/opencv_3rdparty/raw/dnn_samples_face_detector_20170830/"
                    "res10_300x300_ssd_iter_140000.caffemodel",),
                   None, f"{_DET}.Ssd", "WEIGHTS_URL"),
    )),
    ModelWeights("yunet", "detector", (WeightFile(
        "face_detection_yunet_2023mar.onnx",
        ("https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",),
        None, f"{_DET}.YuNet", "WEIGHTS_URL"),)),
    ModelWeights("centerface", "detector", (WeightFile(
        "centerface.onnx", ("https://github.com/Star-Clouds/CenterFace/raw/master/models/onnx/centerface.onnx",),
        None, f"{_DET}.CenterFace", "WEIGHTS_URL"),), needs=("onnxruntime",)),
]

#: Supported models by name (deepface spelling).  Detectors deepface also offers but that
#: need packages outside the pinned set (retinaface/mtcnn: tensorflow; yolo*: ultralytics;
#: mediapipe: model files it does not ship; fastmtcnn: facenet-pytorch) are not listed.
REGISTRY: dict[str, ModelWeights] = {m.name: m for m in _models}

#: analyze() action name -> registry name of its attribute model
ATTRIBUTE_MODELS = {"emotion": "Emotion", "age": "Age", "gender": "Gender", "race": "Race"}

#: detectors deepface knows that this project cannot run, and why
UNSUPPORTED_DETECTORS = {
    "retinaface": "needs tensorflow (not in the pinned set: it would switch deepface to its TF engine)",
    "mtcnn": "needs tensorflow (not in the pinned set)",
    "fastmtcnn": "needs facenet-pytorch, which pins an old torch",
    "mediapipe": "the mediapipe wheel ships no face models",
    **{f"yolo{v}": "needs ultralytics (not in the pinned set)" for v in
       ("v8n", "v8m", "v8l", "v11n", "v11s", "v11m", "v11l", "v12n", "v12s", "v12m", "v12l")},
}
