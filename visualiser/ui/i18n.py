"""Interface strings in English and Chinese for ``gr.I18n``, and the page's language switch.

Component labels are translated in the browser. Gradio's front end translates a component's string props
(``label``, ``info``, ``value``, ...) by looking the whole string up as a translation key, so a Radio whose
*value* equals a key (``"block"``) came back as the translated *label* (``"Block"``, ``"模块"``) after its
group was hidden and shown again, and the next event refused it. Every key therefore lives in its own
namespace (``KEY_PREFIX``), which no choice value, block name or model name uses: ``Words("block")`` sends
the key ``av_block``. A test checks every choice of the built demo against every key.

The page offers exactly the languages the app has (``LANGUAGE_CHOICES``), in a switch at the top, instead of
Gradio's Settings panel with its thirty-odd languages of which two would be half translated. The start is the
reader's last choice (kept in the browser) or the browser's language: any Chinese tag → 简体中文, anything else
→ English, whole. Gradio fixes a component's label text when it first draws it, in the locale it read from
``navigator.language`` at start-up, so ``HEAD_JS`` (in the page's head, before Gradio starts) presents that
choice as the browser's language. A switch later sends every label's text from the server (``relabel``) and
moves Gradio's own locale for what is drawn afterwards (``SWITCH_LOCALE_JS``); every event also sends the
language to the server, which writes banners, notices, errors and figure text in it. Strings are ICU messages
in the front end, so they must not contain braces.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

KEY_PREFIX = "av_"  # no choice value, block name or registry name starts with this
LANGUAGE_CHOICES = [("English", "en"), ("简体中文", "zh")]
LOCALES = {"en": "en", "zh": "zh-CN"}  # our language → the Gradio locale it sets

EN: dict[str, str] = {
    "app_heading": "## Attention visualiser",
    "app_intro": "See what squeeze-and-excitation (SE), CBAM and ECA attention do inside a CNN, "
    "and how a 3D convolution slides over a clip.",
    "tab_image": "Image",
    "tab_clip": "Clip",
    "tab_conv3d": "3D convolution",
    "tab_compare": "Compare",
    "tab_learn": "Learn",
    # image tab
    "image_input": "Image (upload, webcam or paste)",
    "model": "Model",
    "model_info": "Embedded models run instantly; ImageNet models download their weights on first use.",
    "analyse": "Analyse",
    "switch_photo_model": "Analyse it with a photo model (SE-ResNet-50, ImageNet)",
    "switch_video_model": "Analyse it with a video model (R3D-18, Kinetics-400)",
    "own_network": "Your own network (a checkpoint)",
    "own_network_info": "Upload a state_dict as .safetensors or .pth (read with weights_only=True: no code in it "
    "runs). Its architecture is read from the keys and shapes: SE / CBAM / ECA ResNets saved by timm, the SENet "
    "authors' code, pytorchcv or the official CBAM code, with any number of classes. A label file (one class "
    "name per line) is optional.",
    "checkpoint_file": "Checkpoint (.safetensors, .pth)",
    "labels_file": "Class names (.txt, optional)",
    "arch": "Architecture",
    "arch_auto": "read it from the checkpoint",
    "load_checkpoint": "Load and analyse",
    "banner_nothing": "**No result yet.** Pick an example or upload an input, then press **Analyse**.",
    "banner_failed": "**No result:** the last analysis failed (the message says why). "
    "Nothing below belongs to an earlier result.",
    "banner_pending": "Analysing with",
    "banner_stale": "**No result for this input yet:** press **Analyse** to run",
    "banner_showing": "**Showing:**",
    "domain_prefix": "**What this model knows:**",
    "banner_animating": "Animating …",
    "banner_animation_stale": "**No animation for these settings yet:** press **Animate**.",
    "predictions": "Top-5 predictions",
    "raw_result": "Result as JSON",
    "examples": "Examples",
    "channel_heading": "### Channel attention",
    "channel_overview": "Channel gates of every block",
    "barcode": "Block × channel barcode",
    "block": "Block",
    "block_info": "The block shown in the chart, the overlay and the internals.",
    "sorted": "Sort by gate",
    "block_chart": "Channel gates of the selected block",
    "spatial_heading": "### Spatial attention",
    "alpha": "Overlay opacity (alpha)",
    "colormap": "Colour map",
    "normalise": "Colour range",
    "norm_block": "this block's own range",
    "norm_shared": "shared across blocks",
    "norm_fixed": "fixed 0..1",
    "overlay": "Spatial gate of the selected block",
    "spatial_grid": "Spatial gates of every block",
    "internals": "Inside the block",
    "internals_info": "SE: squeeze against excitation. CBAM: the average and maximum branches of the channel gate, "
    "then the spatial gate step by step with its learned kernel.",
    "channel_internals": "Channel side",
    "spatial_internals": "Spatial side",
    "reference": "Class reference (SE paper, Fig. 6)",
    "reference_info": "This input's gates against the mean gates of each class, for models with precomputed "
    "statistics.",
    "gradcam": "Grad-CAM beside spatial attention",
    "gradcam_info": "Grad-CAM needs a backward pass, so it is computed only when you ask for it.",
    "gradcam_run": "Compute Grad-CAM",
    "intervention": "Intervention",
    "intervention_info": "Change one block's gates and run the network again: the new top-5 appears beside the old.",
    "intervention_mode": "What to do with the selected block",
    "iv_identity": "gates → 1 (remove attention)",
    "iv_mute": "mute the k strongest channels",
    "mute_top": "Channels to mute (k)",
    "intervene": "Run the intervention",
    "before": "Before",
    "after": "After",
    "bundle_prepare": "Prepare download (figures, arrays, JSON)",
    "bundle_download": "Download the bundle (zip)",
    # clip tab
    "clip_input": "Clip (upload or webcam)",
    "clip_model_info": "3-D models see the whole clip at once; image models look at each frame on its own.",
    "frames": "Frames to sample",
    "frames_info": "Frames are taken evenly over the whole clip.",
    "attention_video": "Attention over the clip",
    "to_conv3d": "Open this clip in the 3D-convolution tab",
    "frame": "Frame",
    "frame_info": "Scrub through the sampled frames.",
    "frame_heatmap": "Attention at this frame",
    "frame_chart": "Channel gates at this frame",
    "over_time": "Attention over time (frame × channel timeline, or the 3-D gate step by step)",
    "stability": "Frame-to-frame stability",
    # 3D convolution tab
    "kernel_source": "Kernel",
    "kernel_info": "Teaching kernels are easy to read; a model's first Conv3d layer is what a real network learned.",
    "conv_mode": "View",
    "mode_3d": "3D only",
    "mode_2d_vs_3d": "2D (per frame) vs 3D",
    "geometry": "Kernel size, stride, padding, dilation",
    "kernel_t": "Kernel size in time (kt)",
    "kernel_hw": "Kernel size in space (kh = kw)",
    "stride_t": "Stride in time",
    "stride_hw": "Stride in space",
    "padding_t": "Padding in time",
    "padding_hw": "Padding in space",
    "dilation_t": "Dilation in time",
    "dilation_hw": "Dilation in space",
    "out_channel": "Output channel (kernel group)",
    "animate": "Animate",
    "animation": "The kernel sliding over the clip",
    "step": "Step",
    "step_info": "Show the animation at one step.",
    "step_frame": "Animation at this step",
    "shape_formula": "Output shape, per axis",
    "parameters": "Parameter counts",
    # compare tab
    "compare_group": "Models",
    "group_embedded": "embedded (synthetic shapes)",
    "group_imagenet": "ImageNet (downloads weights)",
    "compare_run": "Compare",
    "compare_info": "The same input through networks that differ in their attention module: none, SE, CBAM, ECA.",
    # page
    "language": "Language",
    "channel_note": "Why there are no channel charts",
    "spatial_note": "Why there is no spatial map",
    "notice": "Notice",
    "mute_info": "1 to the selected block's number of channels.",
    "compare_notice": "What these networks know",
}

ZH: dict[str, str] = {
    "app_heading": "## 注意力可视化",
    "app_intro": "看看挤压-激励（SE）、CBAM 和 ECA 注意力在卷积网络内部做了什么，以及 3D 卷积如何在视频片段上滑动。",
    "tab_image": "图像",
    "tab_clip": "视频片段",
    "tab_conv3d": "3D 卷积",
    "tab_compare": "对比",
    "tab_learn": "学习",
    "image_input": "图像（上传、摄像头或粘贴）",
    "model": "模型",
    "model_info": "内置模型立即可用；ImageNet 模型首次使用时会下载权重。",
    "analyse": "分析",
    "switch_photo_model": "改用照片模型分析（SE-ResNet-50，ImageNet）",
    "switch_video_model": "改用视频模型分析（R3D-18，Kinetics-400）",
    "own_network": "你自己的网络（检查点）",
    "own_network_info": "上传 .safetensors 或 .pth 格式的 state_dict（以 weights_only=True 读取：其中的代码不会运行）。"
    "架构从键名和形状推断：timm、SENet 作者代码、pytorchcv 或官方 CBAM 代码保存的 SE / CBAM / ECA ResNet，类别数任意。"
    "类别名文件（每行一个）可选。",
    "checkpoint_file": "检查点（.safetensors、.pth）",
    "labels_file": "类别名（.txt，可选）",
    "arch": "架构",
    "arch_auto": "从检查点推断",
    "load_checkpoint": "加载并分析",
    "banner_nothing": "**尚无结果。** 选择一个示例或上传输入，然后点击 **分析**。",
    "banner_failed": "**没有结果：** 上一次分析失败（提示信息说明了原因）。下方没有任何内容属于更早的结果。",
    "banner_pending": "正在分析，模型：",
    "banner_stale": "**此输入尚无结果：** 点击 **分析** 以运行",
    "banner_showing": "**当前显示：**",
    "domain_prefix": "**此模型学过的内容：**",
    "banner_animating": "正在生成动画……",
    "banner_animation_stale": "**这些设置尚无动画：** 点击 **生成动画**。",
    "predictions": "前 5 个预测",
    "raw_result": "JSON 格式的结果",
    "examples": "示例",
    "channel_heading": "### 通道注意力",
    "channel_overview": "每个模块的通道门控值",
    "barcode": "模块 × 通道条形码",
    "block": "模块",
    "block_info": "柱状图、叠加图和内部细节所显示的模块。",
    "sorted": "按门控值排序",
    "block_chart": "所选模块的通道门控值",
    "spatial_heading": "### 空间注意力",
    "alpha": "叠加不透明度（alpha）",
    "colormap": "色图",
    "normalise": "颜色范围",
    "norm_block": "该模块自身的范围",
    "norm_shared": "所有模块共用",
    "norm_fixed": "固定 0..1",
    "overlay": "所选模块的空间门控",
    "spatial_grid": "每个模块的空间门控",
    "internals": "模块内部",
    "internals_info": "SE：挤压与激励的对照。CBAM：通道门控的平均分支和最大分支，以及空间门控的每一步和学到的卷积核。",
    "channel_internals": "通道部分",
    "spatial_internals": "空间部分",
    "reference": "类别参考（SE 论文图 6）",
    "reference_info": "当前输入的门控值与各类别平均门控值的对照，仅适用于已预先计算统计量的模型。",
    "gradcam": "Grad-CAM 与空间注意力对照",
    "gradcam_info": "Grad-CAM 需要一次反向传播，因此只在你需要时计算。",
    "gradcam_run": "计算 Grad-CAM",
    "intervention": "干预",
    "intervention_info": "修改某个模块的门控值并重新运行网络：新的前 5 个预测显示在原来的旁边。",
    "intervention_mode": "对所选模块做什么",
    "iv_identity": "门控设为 1（去掉注意力）",
    "iv_mute": "压制最强的 k 个通道",
    "mute_top": "压制的通道数（k）",
    "intervene": "运行干预",
    "before": "干预前",
    "after": "干预后",
    "bundle_prepare": "准备下载（图表、数组、JSON）",
    "bundle_download": "下载结果包（zip）",
    "clip_input": "视频片段（上传或摄像头）",
    "clip_model_info": "3D 模型一次看到整个片段；图像模型逐帧单独分析。",
    "frames": "采样帧数",
    "frames_info": "在整个片段上均匀取帧。",
    "attention_video": "片段上的注意力",
    "to_conv3d": "在 3D 卷积标签页中打开此片段",
    "frame": "帧",
    "frame_info": "拖动查看各个采样帧。",
    "frame_heatmap": "这一帧的注意力",
    "frame_chart": "这一帧的通道门控值",
    "over_time": "随时间变化的注意力（帧 × 通道时间线，或 3D 门控的逐步分解）",
    "stability": "帧间稳定性",
    "kernel_source": "卷积核",
    "kernel_info": "教学卷积核易于理解；模型的第一个 Conv3d 层是真实网络学到的卷积核。",
    "conv_mode": "视图",
    "mode_3d": "仅 3D",
    "mode_2d_vs_3d": "2D（逐帧）与 3D 对照",
    "geometry": "卷积核尺寸、步长、填充、空洞",
    "kernel_t": "时间方向卷积核尺寸（kt）",
    "kernel_hw": "空间方向卷积核尺寸（kh = kw）",
    "stride_t": "时间方向步长",
    "stride_hw": "空间方向步长",
    "padding_t": "时间方向填充",
    "padding_hw": "空间方向填充",
    "dilation_t": "时间方向空洞",
    "dilation_hw": "空间方向空洞",
    "out_channel": "输出通道（卷积核组）",
    "animate": "生成动画",
    "animation": "卷积核在片段上滑动",
    "step": "步",
    "step_info": "显示动画的某一步。",
    "step_frame": "这一步的画面",
    "shape_formula": "各方向的输出尺寸",
    "parameters": "参数量",
    "compare_group": "模型",
    "group_embedded": "内置模型（合成形状）",
    "group_imagenet": "ImageNet（需下载权重）",
    "compare_run": "对比",
    "compare_info": "同一输入送入只在注意力模块上不同的网络：无注意力、SE、CBAM、ECA。",
    "language": "语言",
    "channel_note": "为什么没有通道图表",
    "spatial_note": "为什么没有空间图",
    "notice": "提示",
    "mute_info": "1 到所选模块的通道数。",
    "compare_notice": "这些网络学过的内容",
}


class Words(gr.I18n):
    """``gr.I18n`` whose keys live in the ``KEY_PREFIX`` namespace: ``words("block")`` sends ``av_block``."""

    def __call__(self, key: str) -> I18nData:
        return super().__call__(KEY_PREFIX + key)


def build_i18n() -> Words:
    """The translations object passed to ``launch(i18n=...)``; every English key has a Chinese string."""
    missing = sorted(set(EN) ^ set(ZH))
    if missing:
        raise ValueError(f"English and Chinese interface strings differ in keys: {missing}")
    en = {KEY_PREFIX + k: v for k, v in EN.items()}
    zh = {KEY_PREFIX + k: v for k, v in ZH.items()}
    return Words(**{"en": en, "zh": zh, "zh-CN": zh})


def label(lang: str | None, key: str) -> str:
    """A label's text in ``lang``, as the server sets it after a switch."""
    return (ZH if lang == "zh" else EN)[key.removeprefix(KEY_PREFIX)]


TRANSLATED_PROPS = ("label", "info", "placeholder", "value")


def translated_blocks(blocks: Iterable[Any]) -> list[tuple[Any, dict[str, str], list[tuple[Any, Any]] | None]]:
    """Every block whose text is a translation key: (block, {prop: key}, choices with keyed labels or None)."""
    found = []
    for block in blocks:
        props = {p: getattr(block, p).key for p in TRANSLATED_PROPS if isinstance(getattr(block, p, None), I18nData)}
        choices = getattr(block, "choices", None)
        keyed = choices if choices and any(isinstance(c[0], I18nData) for c in choices) else None
        if props or keyed:
            found.append((block, props, keyed))
    return found


def relabel(found: list[tuple[Any, dict[str, str], list[tuple[Any, Any]] | None]], lang: str) -> dict[Any, Any]:
    """``{block: update}`` giving every translated label, button, heading and choice its text in ``lang``."""
    updates = {}
    for block, props, choices in found:
        values = {prop: label(lang, key) for prop, key in props.items()}
        if choices is not None:
            values["choices"] = [(label(lang, c.key) if isinstance(c, I18nData) else c, v) for c, v in choices]
        updates[block] = gr.update(**values)
    return updates


def translation_keys(i18n: gr.I18n) -> set[str]:
    """Every key the front end can translate (all languages)."""
    return {key for table in i18n.translations_dict.values() for key in table}


STORAGE_KEY = "attention-visualiser-language"

# In the page's head, before Gradio starts: the reader's language (their last choice, else the browser's; any
# Chinese → zh, anything else → en), presented to Gradio as the browser's language so that every label is
# first drawn in it.
HEAD_JS = (
    "<script>(() => {"
    f'  let lang = null; try {{ lang = localStorage.getItem("{STORAGE_KEY}"); }} catch (e) {{}}'
    """
  if (lang !== "zh" && lang !== "en") {
    const tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    lang = String(tags[0] || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
  }
  const locale = lang === "zh" ? "zh-CN" : "en";
  try {
    Object.defineProperty(navigator, "language", { get: () => locale, configurable: true });
    Object.defineProperty(navigator, "languages", { get: () => [locale], configurable: true });
  } catch (e) {}
  window.__visualiserLanguage = lang;
})();</script>"""
)

# On page load: the language the head script chose, for the switch (and every event) to send.
DETECT_LANGUAGE_JS = """() => {
  if (window.__visualiserLanguage) return window.__visualiserLanguage;
  return String(navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}"""

# On a switch: remember the choice, and move Gradio's own locale (what it draws from now on) to it. Gradio's
# locale setter is in the module the page already loaded (its file name carries a build hash).
SWITCH_LOCALE_JS = (
    "async (lang) => {"
    f'  try {{ localStorage.setItem("{STORAGE_KEY}", lang); }} catch (e) {{}}'
    r"""
  window.__visualiserLanguage = lang;
  const url = performance.getEntriesByType("resource").map((e) => e.name)
    .find((n) => /\/assets\/core-[^/]*\.js$/.test(n));
  if (url) {
    try {
      const core = await import(url);
      if (core.changeLocale) core.changeLocale(lang === "zh" ? "zh-CN" : "en");
    } catch (e) { console.warn("language switch:", e); }
  }
  return lang;
}"""
)
