"""The words of the book's figures in each language (issue #17): one matplotlib figure, drawn
once per language.

The chapters draw their figures in English, as before. :func:`cnncourse.plotting.use_book_style`
(every chapter calls it) installs :func:`install`: IPython's PNG formatter for matplotlib
figures then renders each figure once per language of :data:`cnncourse.i18n.LANGUAGES`,
swapping every text of the figure (titles, axis labels, tick labels given as strings, legend
entries, texts and annotations) for its translation in :data:`RUSSIAN` and back. The output
shows the current language's image (:func:`cnncourse.i18n.get_language`, ``CNNCOURSE_LANG``);
its metadata (``metadata["image/png"]["cnncourse/figure"]``, :data:`KEY`) holds the
language of that image, the other languages' images and the texts drawn in each language.
nbval does not compare images or metadata, and the output keeps its single image and its
``text/plain``, so committed outputs compare as before.

Each edition of the book keeps only its language's image: ``tools/russian_edition.py`` (loaded
by every Sphinx build: the English and Russian HTML and the PDF) calls
:func:`select_language` on every notebook it reads. ``tests/test_figure_words.py`` checks the
texts recorded in the chapters' outputs: no English word in a Russian figure
(:func:`english_words`; names and notation such as ReLU, VGG-16, top-5, 3×3 and math are
language-neutral, :data:`NAMES`).

Translations are looked up whole (``"training loss"``), then as templates with ``{fields}``
(``"class {n}"``; a field's value is itself translated when the table has it), then line by
line and, for the architecture drawings' boxes, part by part around " · ".
"""

from __future__ import annotations

import base64
import json
import re
from contextlib import contextmanager
from functools import lru_cache

from cnncourse.i18n import LANGUAGES, get_language

#: The key of the figure's record in the image's output metadata.
KEY = "cnncourse/figure"

#: English text of a figure -> Russian. ``{name}`` is a field (any text, translated itself
#: when the table has it).
RUSSIAN: dict[str, str] = {
    # shared: the widgets' static figures, the architecture drawings, the plotting helpers
    "input": "вход",
    "output": "выход",
    "gradient": "градиент",
    "original": "исходное",
    "PyTorch refuses:\n{error}": "PyTorch отказывается:\n{error}",
    # cnncourse.architecture_drawing: box labels and merges
    "conv {k}, {c}": "свёртка {k}, {c}",
    "conv {k}, {c} /{s}": "свёртка {k}, {c} /{s}",
    "conv {k}, {c} groups {g}": "свёртка {k}, {c}, групп {g}",
    "conv {k}, {c} /{s} groups {g}": "свёртка {k}, {c} /{s}, групп {g}",
    "max pool {k} /{s}": "max-пулинг {k} /{s}",
    "avg pool {k} /{s}": "avg-пулинг {k} /{s}",
    "global max pool": "глоб. max-пулинг",
    "global avg pool": "глоб. avg-пулинг",
    "adaptive max pool {k}": "адапт. max-пулинг {k}",
    "adaptive avg pool {k}": "адапт. avg-пулинг {k}",
    "dense {n}→{m}": "полносв. {n}→{m}",  # the box is as wide as "dense 25088→4096"
    "dropout": "дропаут",
    "flatten": "в вектор",
    "concat, {shape}": "конкатенация, {shape}",
    # widgets' fallback() figures
    "{layer}: {h}×{w} → {ho}×{wo}": "{layer}: {h}×{w} → {ho}×{wo}",
    "M (convolution): {h}×{w}": "M (свёртка): {h}×{w}",
    "Mᵀ (transposed convolution): {h}×{w}": "Mᵀ (транспонированная свёртка): {h}×{w}",
    "input cell (row-major)": "клетка входа (по строкам)",
    "output cell": "клетка выхода",
    "output ({mode})": "выход ({mode})",
    "kernel: {preset}": "ядро: {preset}",
    "identity": "тождественное",
    "blur": "размытие",
    "sharpen": "резкость",
    "top sobel": "Собель сверху",
    "bottom sobel": "Собель снизу",
    "left sobel": "Собель слева",
    "right sobel": "Собель справа",
    "outline": "контур",
    "custom": "«custom»",
    "edited": "изменённое",
    "rows {r0}-{r1}, columns {c0}-{c1}": "строки {r0}-{r1}, столбцы {c0}-{c1}",
    "rows {r0}-{r1}, columns {c0}-{c1}, red channel":
        "строки {r0}-{r1}, столбцы {c0}-{c1}, красный канал",
    "red channel": "красный канал",
    "input (first window shaded)": "вход (первое окно закрашено)",
    "max pooling output": "выход max-пулинга",
    "average pooling output": "выход усредняющего пулинга",
    "gradient of sum(output)": "градиент суммы выхода",
    "computed field: unit {unit}": "вычисленное поле: нейрон {unit}",
    "measured |∂y/∂x|: unit {unit}": "измеренное |∂y/∂x|: нейрон {unit}",
    # Part I
    "camera, 512×512": "«camera», 512×512",
    "the 32×32 crop, pixel by pixel": "вырезка 32×32, пиксель за пикселем",
    "colour (HWC)": "цвет (HWC)",
    "red: {code}": "красный: {code}",
    "green: {code}": "зелёный: {code}",
    "blue: {code}": "синий: {code}",
    "class {n}": "класс {n}",
    "step {n}: {equation}": "шаг {n}: {equation}",
    "brick wall": "кирпичная стена",
    "Gabor {t}° (real part)": "Габор {t}° (действительная часть)",
    "response {t}°": "отклик {t}°",
    "input pixel (flattened 5×5)": "пиксель входа (5×5 в вектор)",
    "output pixel": "пиксель выхода",
    "blur, {mode}": "размытие, {mode}",
    "conv → ReLU → max pool": "свёртка → ReLU → max-пулинг",
    "conv → ReLU → avg pool": "свёртка → ReLU → avg-пулинг",
    "strided conv → ReLU": "свёртка с шагом → ReLU",
    "shift to the right, pixels": "сдвиг вправо, пиксели",
    "relative change of the map": "относительное изменение карты",
    "filter {i}": "фильтр {i}",
    "input 28×28": "вход 28×28",
    "predicted {n}": "предсказано: {n}",
    "flatten + dense": "в вектор + полносвязный",
    "global average pooling": "глобальный усредняющий пулинг",
    "shift of the digit, pixels": "сдвиг цифры, пиксели",
    "test accuracy, %": "точность на тесте, %",
    "CAM for class {n}": "CAM для класса {n}",
    "unit {unit}: {n} pixels": "нейрон {unit}: {n} пикс.",
    "dilations {d}: {h}×{w},\n{n} pixels used": "расширения {d}: {h}×{w},\nиспользовано {n} пикс.",
    "effective receptive field\n(10 random 3×3 layers)":
        "эффективное рецептивное поле\n(10 случайных слоёв 3×3)",
    "gradient, central row": "градиент, центральная строка",
    "theoretical field": "теоретическое поле",
    "input column": "столбец входа",
    "Fisher vectors": "векторы Фишера",
    "ensemble": "ансамбль",
    "human: {p} %": "человек: {p} %",
    "top-5 error, %": "ошибка top-5, %",
    "ILSVRC classification: winning top-5 error by year":
        "ILSVRC, классификация: ошибка top-5 победителя по годам",
    # Part II
    "LeNet-5 (the slide's listing)": "LeNet-5 (листинг со слайда)",
    "first-layer kernels (red +, blue −)": "ядра первого слоя (красный +, синий −)",
    "AlexNet, the table's network": "AlexNet, сеть из таблицы",
    "iteration": "итерация",
    "training error": "ошибка на обучении",
    "share of FLOPs": "доля FLOPs",
    "share of parameters": "доля параметров",
    "% of the network": "% сети",
    "VGG-16, per layer": "VGG-16, по слоям",
    "Inception block 3a": "блок Inception 3a",
    "BasicBlock(64, 128, stride 2)": "BasicBlock(64, 128, шаг 2)",
    "plain, {n} layers": "обычная, {n} слоя",
    "residual, {n} layers": "остаточная, {n} слоя",
    "epoch": "эпоха",
    "training loss": "потери на обучении",
    r"$\alpha$ (step along a filter-normalised random direction)":
        r"$\alpha$ (шаг вдоль случайного направления, нормированного по фильтрам)",
    "log training loss around the trained weights": "логарифм потерь на обучении вокруг обученных весов",
    "{name}: mean channel weight per digit": "{name}: средний вес канала по цифрам",
    "{name}: minus the channel's mean over digits": "{name}: минус среднее канала по цифрам",
    "channel": "канал",
    "digit": "цифра",
    "multiply-adds per 224×224 image (G)": "умножений-сложений на изображение 224×224 (млрд)",
    "ImageNet {metric} accuracy (%)": "точность {metric} на ImageNet (%)",
    "top1": "top-1",  # the metric's key in 07_comparing
    "top5": "top-5",
    "Top-1 accuracy vs computation; area ∝ parameters":
        "Точность top-1 и объём вычислений; площадь ∝ числу параметров",
    "Top-5 accuracy vs computation; area ∝ parameters":
        "Точность top-5 и объём вычислений; площадь ∝ числу параметров",
    "nearest ×2, then conv 3×3": "ближайший сосед ×2, затем свёртка 3×3",
    "input channel": "входной канал",
    "nn.Dropout2d(0.5), 4 channels": "nn.Dropout2d(0.5), 4 канала",
}

#: Latin words that are names or notation, the same in every language: architectures and
#: layers, data sets and methods, PyTorch's names and argument values, abbreviations of
#: metrics and units. A Russian figure may show them; any other Latin word is English.
NAMES = frozenset("""
    ReLU Tanh tanh Sigmoid softmax BN LRN SmoothGrad CAM GAP HWC CHW RGB FLOPs
    LeNet AlexNet ZFNet GoogLeNet Inception ResNet SENet VGG MobileNet EfficientNet WRN
    BasicBlock Bottleneck SELayer Conv2d ConvTranspose2d Dropout Dropout2d PyTorch
    ImageNet ILSVRC SIFT LBP SVM NEC UIUC XRCE SuperVision Clarifai MSRA Trimps Soushen WMW
    camera custom zeros reflect replicate circular top max avg lr se conv fc
    V B M G
""".split())

_MATH = re.compile(r"\$[^$]*\$")
# Code in a text: keyword arguments (reduction=16), quoted values ('zeros'), dotted and
# subscripted names (nn.Dropout, chw[0], out[0,1]), calls (sum(x)).
_CODE = re.compile(r"\b\w+=|'[^']*'|\b\w+(?:\.\w+)+|\b\w+\[[^\]]*\]|\b\w+\(")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def english_words(text: str) -> list[str]:
    """The Latin words of ``text`` that are not names or notation (:data:`NAMES`): what a
    Russian figure must not show. Math (``$...$``), code and single letters do not count."""
    text = _CODE.sub(" ", _MATH.sub(" ", text))
    return [w for w in _LATIN.findall(text)
            if len(w) > 1 and w not in NAMES and w.rstrip("0123456789") not in NAMES]


@lru_cache(maxsize=None)
def _template(key: str) -> tuple[re.Pattern, list[str]] | None:
    fields = re.findall(r"\{(\w+)\}", key)
    if not fields:
        return None
    parts = re.split(r"\{\w+\}", key)
    pattern = "".join(re.escape(p) + ("([^\n·]+?)" if i < len(fields) else "")
                      for i, p in enumerate(parts))
    return re.compile(pattern + r"\Z", re.S), fields


@lru_cache(maxsize=None)
def _templates(lang: str) -> list[str]:
    """The table's templates, the most specific (longest fixed text) first."""
    table = {"ru": RUSSIAN}[lang]
    keys = [k for k in table if _template(k) is not None]
    return sorted(keys, key=lambda k: -len(re.sub(r"\{\w+\}", "", k)))


def translate(text: str, lang: str) -> str:
    """``text`` (a figure's English text) in ``lang``; unchanged when the table has no
    translation (the test then finds its English words)."""
    if lang == LANGUAGES[0] or not text:
        return text
    table = {"ru": RUSSIAN}[lang]
    if text in table:
        return table[text]
    for key in _templates(lang):
        value, compiled = table[key], _template(key)
        m = compiled[0].match(text)
        if m:
            return value.format(**{f: table.get(v, v) for f, v in zip(compiled[1], m.groups())})
    for sep in ("\n", " · "):
        if sep in text:
            return sep.join(translate(part, lang) for part in text.split(sep))
    return text


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_text()]


def figure_texts(fig) -> list[str]:
    """The visible texts of ``fig`` as last drawn (tick labels included)."""
    return [t.get_text() for t in _texts(fig) if t.get_visible()]


@contextmanager
def drawn_in(fig, lang: str):
    """Within the block, every text of ``fig`` is in ``lang``; afterwards, as it was."""
    saved_texts = [(t, t.get_text()) for t in _texts(fig)]
    # tick labels given as strings are redrawn from the axis' formatter at each draw:
    # set_xticks(ticks, labels) keeps them in a dict, set_ticklabels alone in a list
    tick_labels = [table for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
                   for fmt in (axis.get_major_formatter(), axis.get_minor_formatter())
                   for table in [_tick_label_table(fmt)] if table is not None]
    saved_ticks = [(table, table.copy()) for table in tick_labels]
    try:
        for table in tick_labels:
            for k in (table.keys() if isinstance(table, dict) else range(len(table))):
                table[k] = translate(str(table[k]), lang)
        for t, text in saved_texts:
            t.set_text(translate(text, lang))
        yield fig
    finally:
        for t, text in saved_texts:
            t.set_text(text)
        for table, copy in saved_ticks:
            table.clear()
            (table.update if isinstance(table, dict) else table.extend)(copy)


def _tick_label_table(fmt):
    """The mutable dict or list of string tick labels of a formatter, else None."""
    from functools import partial

    from matplotlib.ticker import FixedFormatter, FuncFormatter

    if isinstance(fmt, FixedFormatter):
        fmt.seq = list(fmt.seq)
        return fmt.seq
    func = getattr(fmt, "func", None) if isinstance(fmt, FuncFormatter) else None
    if isinstance(func, partial) and func.args and isinstance(func.args[0], dict):
        return func.args[0]
    return None


def render(fig, draw) -> dict[str, tuple[object, list[str]]]:
    """``{lang: (draw(fig) in lang, the texts drawn)}`` for every language."""
    out = {}
    for lang in LANGUAGES:
        with drawn_in(fig, lang):
            image = draw(fig)
            out[lang] = (image, figure_texts(fig))
    return out


def _png_formatter(draw):
    def format_figure(fig):
        drawn = render(fig, draw)
        current = get_language()
        image = drawn[current][0]
        data, md = image if isinstance(image, tuple) else (image, {})
        others = {}
        for lang, (img, _) in drawn.items():
            if lang != current:
                png = img[0] if isinstance(img, tuple) else img
                others[lang] = png if isinstance(png, str) else base64.b64encode(png).decode("ascii")
        md = dict(md or {})
        md[KEY] = {"language": current, "images": others,
                   "texts": {lang: texts for lang, (_, texts) in drawn.items()}}
        return data, md

    format_figure.cnncourse_figure = True
    return format_figure


def install(shell=None) -> bool:
    """Make IPython's ``image/png`` formatter of matplotlib figures draw each figure in every
    language (see the module's docstring). Returns whether it is installed (False outside
    IPython or when no PNG formatter is set). Idempotent."""
    from IPython import get_ipython  # a dependency of the package (pyproject.toml)
    from matplotlib.figure import Figure

    if shell is None:
        shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        current = formatter.lookup_by_type(Figure)
    except KeyError:
        # the inline backend registers its formatters when pyplot first loads it
        import matplotlib.pyplot as plt

        plt.switch_backend(plt.get_backend())
        try:
            current = formatter.lookup_by_type(Figure)
        except KeyError:
            return False
    if getattr(current, "cnncourse_figure", False):
        return True
    formatter.for_type(Figure, _png_formatter(current))
    return True


def select_language(nb: dict, lang: str) -> int:
    """Make every figure output of the notebook ``nb`` (its JSON as a dict) show its ``lang``
    image and drop the other languages' (one edition of the book). Returns how many outputs
    changed."""
    changed = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            md = out.get("metadata", {}).get("image/png", {})
            record = md.pop(KEY, None) if isinstance(md, dict) else None
            if record is None:
                continue
            if record["language"] != lang and lang in record["images"]:
                out["data"]["image/png"] = record["images"][lang]
            if not md:
                del out["metadata"]["image/png"]
            changed += 1
    return changed


def select_language_in_source(source: str, lang: str) -> str:
    """:func:`select_language` on a notebook's JSON text (Sphinx's ``source-read``)."""
    if KEY not in source:
        return source
    nb = json.loads(source)
    select_language(nb, lang)
    return json.dumps(nb, ensure_ascii=False, indent=1)


__all__ = ["KEY", "NAMES", "RUSSIAN", "drawn_in", "english_words", "figure_texts", "install",
           "render", "select_language", "select_language_in_source", "translate"]
