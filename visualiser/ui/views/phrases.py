"""The sentences the server writes around the views, in English and Chinese.

Labels of the page's components are translated in the browser (``ui.i18n``); everything the server composes
(banners, notices, captions, why a panel is empty, errors, agreement and intervention results) is written
here in the reader's language, which every event receives from the page's language switch. Templates are
``str.format`` strings; names of models, blocks, classes and files are data and stay as they are.
"""

from __future__ import annotations

from visualiser.render.words import LANGS, Lang

EN: dict[str, str] = {
    # banners
    "nothing": "**No result yet.** Pick an example or upload an input, then press **Analyse**.",
    "pending": "Analysing with **{model}** …",
    "stale": "**No result for this input yet:** press **Analyse** to run **{model}**.",
    "showing": "**Showing:** {caption}",
    "failed": "**No result:** {short}",
    "details": "Details",
    "animating": "Animating …",
    "animation_stale": "**No animation for these settings yet:** press **Animate**.",
    "animation_nothing": "**No animation yet.** Pick an example clip or upload one, then press **Animate**.",
    "animation_failed": "**No animation:** {short}",
    "domain": "**What this model knows:** {known}",
    "the_default_model": "the default model",
    # captions
    "caption_image": "{model} · {source} ({width}×{height})",
    "caption_pixels": "{model} · {width}×{height} image",
    "caption_clip": "{model} · {source} · {frames}",
    "frames_span": "{count} frames at {start}–{end} s",
    "frames_count": "{count} frames",
    "clip": "clip",
    "image": "image",
    # timings
    "timing_decode": "decode",
    "timing_preprocess": "preprocess",
    "timing_forward": "forward",
    "ms": "{value} ms",
    # notices
    "outside": "**Outside what {model} learned** ({domain}): {why}. Its predictions are guesses among classes that "
    "do not fit. The gates below are still exactly what the network computed for this input: they show how this "
    "network responds to it, not what a network trained on photos would see.",
    "outside_why": "it is not one of the generated examples this network was made for",
    "its_training_data": "its training data",
    "no_class_output": "{note}",
    "switch_needs": "A photo model with attention would suit this input, but none can run here: its weights are not "
    "on this machine and cannot be downloaded now. Run `python -m visualiser fetch {model}` where there is "
    "internet (or bring the file over and use `--from`), or upload a checkpoint under *Your own network*.",
    "clip_switch_needs": "A video or photo model with attention would suit this clip, but none can run here: run "
    "`python -m visualiser fetch {model}` where there is internet (or bring the file over and use `--from`).",
    # empty panels
    "no_attention": "**{model} has no attention module**: there are no gates to draw. It is the baseline; compare it "
    "with the SE and CBAM networks on the Compare tab.",
    "no_channel_gates": "**{model} has no channel gates**: nothing to chart.",
    "no_spatial": "**No spatial attention in {model}**: its {kinds} blocks gate channels only (only CBAM has a "
    "spatial gate). See the channel charts above.",
    "no_spatial_side": "**No spatial side**: {block} is an {kind} block, which gates channels only.",
    "no_channel_side": "**No channel side** recorded for {block}.",
    "no_internals": "**Nothing inside to show**: {model} has no attention module.",
    "no_reference": "**No class reference for {model}**: it needs class-mean statistics computed on this machine "
    "(`python -m visualiser stats {name}`), and only networks with channel gates have them.",
    "no_barcode": "**No barcode**: {model} has no channel gates.",
    "no_intervention": "**Nothing to intervene on**: {model} has no attention block whose gates could be changed.",
    "gradcam_ready": "Press **Compute Grad-CAM**: it needs a backward pass, so it runs only when asked.",
    "nothing_to_draw": "Analyse an input first: the options change what is drawn from a result.",
    "no_video": "**No attention video**: {model} has no spatial attention to overlay (its gates are charted below).",
    "no_clip_attention": "**{model} has no attention module**: there are no gates to draw over the clip.",
    "no_timeline": "**No timeline**: {block} has no channel gate.",
    "no_time_view": "**No view over time** for {block}: a 3-D model computes one channel gate per clip and this block "
    "has no spatio-temporal gate.",
    "unavailable_internals": "Not recorded for {block} ({layout}): {reasons}.",
    # Grad-CAM and interventions
    "gradcam_alone": "{model} has no spatial attention, so there is nothing to compare Grad-CAM with; shown alone "
    "(class **{label}**).",
    "agreement": "**Agreement of Grad-CAM and {block}:** Spearman rank correlation {rho}; overlap (IoU) of their top "
    "{top}% regions {iou}. 1 means the same ranking / region; 0 means unrelated.",
    "undefined_constant": "undefined (one map is constant)",
    "not_available": "n/a",
    "iv_identity": "{block}: gate set to 1 (attention removed)",
    "iv_mute": "{block}: the {k} strongest channels muted",
    "iv_result": "{what}. Top-1 {verdict}; P({label}) went from {before} to {after}.",
    "iv_unchanged": "unchanged",
    "iv_changed": "changed to **{label}**",
    "mute_info": "1 to {channels}: the selected block has {channels} channels.",
    # clip controls
    "frames_fixed": "{model} always takes {frames} frames: the clip is sampled at {frames} evenly spaced times.",
    "frames_free": "2 to {most}: frames are taken evenly over the whole clip and analysed one by one.",
    "frame_info": "Frame 1 to {frames} of the sampled frames.",
    # 3D convolution
    "kernel_fixed": "Set by {source}: its first Conv3d layer is {kt}×{kh}×{kw}.",
    "kernel_free": "Teaching kernels can take any size.",
    "out_channel_info": "0 to {last}: this kernel has {groups} output channels (kernel groups); 0 is the first.",
    "out_channel_one": "0: this kernel has one output channel.",
    "step_info": "Step 1 to {steps}: where the kernel is.",
    "input_grid": "input grid T×H×W = {t}×{h}×{w}",
    "parameters": "**Parameters** of this layer (C = {channels} input channels, K = {groups} kernel groups)",
    "ratio": "ratio 3D / 2D = {ratio}",
    "params": "params",
    "plan_caption": "{source} · {kernel} · {t}×{h}×{w} cells",
    # compare
    "compare_running": "Comparing on **{count}** networks … ({done} of {count} done)",
    "compare_done": "**Compared:** {source} on {count} networks.",
    "compare_partial": "**Compared:** {source}; {failed} of {count} networks could not run (each column says why).",
    "compare_nothing": "**No comparison yet.** Pick an example or upload an image, then press **Compare**.",
    "compare_stale": "**No comparison for this input yet:** press **Compare**.",
    "column_failed": "**Could not run here:** {short}",
    "column_waiting": "*{model}: waiting …*",
    # errors
    "error_input": "{message}",
    "error_weights_absent": "The weights of **{model}** are not on this machine and cannot be downloaded now.",
    "error_weights": "{message}",
    "error_model": "{message}",
    "error_internal": "Something went wrong on the server (a bug, not your input). Try again; the server log has "
    "the details.",
    "error_first": "Analyse an input first.",
    "error_what_next": "What to do: {what}",
    "upload_first": "upload an image or pick an example first",
}

ZH: dict[str, str] = {
    "nothing": "**尚无结果。** 选择一个示例或上传输入，然后点击 **分析**。",
    "pending": "正在用 **{model}** 分析 …",
    "stale": "**此输入尚无结果：** 点击 **分析** 以运行 **{model}**。",
    "showing": "**当前显示：** {caption}",
    "failed": "**没有结果：** {short}",
    "details": "详细信息",
    "animating": "正在生成动画 …",
    "animation_stale": "**这些设置尚无动画：** 点击 **生成动画**。",
    "animation_nothing": "**尚无动画。** 选择一个示例片段或上传一个，然后点击 **生成动画**。",
    "animation_failed": "**没有动画：** {short}",
    "domain": "**此模型学过的内容：** {known}",
    "the_default_model": "默认模型",
    "caption_image": "{model} · {source}（{width}×{height}）",
    "caption_pixels": "{model} · {width}×{height} 图像",
    "caption_clip": "{model} · {source} · {frames}",
    "frames_span": "{count} 帧，{start}–{end} 秒",
    "frames_count": "{count} 帧",
    "clip": "片段",
    "image": "图像",
    "timing_decode": "解码",
    "timing_preprocess": "预处理",
    "timing_forward": "前向传播",
    "ms": "{value} 毫秒",
    "outside": "**超出了 {model} 学过的内容**（{domain}）：{why}。它的预测只是在不合适的类别之间猜测。下面的门控值仍然"
    "完全是网络对这个输入计算出来的：它们显示的是这个网络对该输入的反应，而不是一个用照片训练的网络会看到什么。",
    "outside_why": "它不是这个网络所针对的生成示例之一",
    "its_training_data": "它的训练数据",
    "no_class_output": "这个网络没有类别输出，所以没有预测；下面的门控值仍是网络计算的结果。（{note}）",
    "switch_needs": "这个输入更适合用带注意力的照片模型，但本机无法运行：它的权重不在本机，现在也无法下载。请在有网络的"
    "机器上运行 `python -m visualiser fetch {model}`（或把文件带过来并使用 `--from`），或在 *你自己的网络* 下上传一个"
    "检查点。",
    "clip_switch_needs": "这个片段更适合用带注意力的视频或照片模型，但本机无法运行：请在有网络的机器上运行 "
    "`python -m visualiser fetch {model}`（或把文件带过来并使用 `--from`）。",
    "no_attention": "**{model} 没有注意力模块**：没有可画的门控值。它是基线模型；可在 对比 标签页中与 SE 和 CBAM "
    "网络比较。",
    "no_channel_gates": "**{model} 没有通道门控**：没有可画的图表。",
    "no_spatial": "**{model} 没有空间注意力**：它的 {kinds} 模块只对通道加权（只有 CBAM 有空间门控）。"
    "请看上方的通道图表。",
    "no_spatial_side": "**没有空间部分**：{block} 是 {kind} 模块，只对通道加权。",
    "no_channel_side": "**没有通道部分**：{block} 没有记录。",
    "no_internals": "**没有可显示的内部细节**：{model} 没有注意力模块。",
    "no_reference": "**{model} 没有类别参考**：需要在本机计算类别均值统计量（`python -m visualiser stats {name}`），"
    "且只有带通道门控的网络才有。",
    "no_barcode": "**没有条形码**：{model} 没有通道门控。",
    "no_intervention": "**没有可干预的对象**：{model} 没有可修改门控的注意力模块。",
    "gradcam_ready": "点击 **计算 Grad-CAM**：它需要一次反向传播，所以只在需要时计算。",
    "nothing_to_draw": "请先分析一个输入：这些选项改变的是结果的画法。",
    "no_video": "**没有注意力视频**：{model} 没有可叠加的空间注意力（它的门控值画在下方）。",
    "no_clip_attention": "**{model} 没有注意力模块**：片段上没有可画的门控值。",
    "no_timeline": "**没有时间线**：{block} 没有通道门控。",
    "no_time_view": "**{block} 没有随时间变化的视图**：3D 模型每个片段只计算一个通道门控，而这个模块没有时空门控。",
    "unavailable_internals": "{block}（{layout}）没有记录：{reasons}。",
    "gradcam_alone": "{model} 没有空间注意力，所以没有可与 Grad-CAM 比较的对象；单独显示（类别 **{label}**）。",
    "agreement": "**Grad-CAM 与 {block} 的一致性：** Spearman 秩相关 {rho}；前 {top}% 区域的重叠（IoU）{iou}。"
    "1 表示排序／区域相同；0 表示无关。",
    "undefined_constant": "无定义（有一张图是常数）",
    "not_available": "无",
    "iv_identity": "{block}：门控设为 1（去掉注意力）",
    "iv_mute": "{block}：压制最强的 {k} 个通道",
    "iv_result": "{what}。第一名{verdict}；P({label}) 从 {before} 变为 {after}。",
    "iv_unchanged": "不变",
    "iv_changed": "变为 **{label}**",
    "mute_info": "1 到 {channels}：所选模块有 {channels} 个通道。",
    "frames_fixed": "{model} 总是取 {frames} 帧：在片段上均匀取 {frames} 个时刻。",
    "frames_free": "2 到 {most}：在整个片段上均匀取帧，逐帧分析。",
    "frame_info": "采样帧中的第 1 到 {frames} 帧。",
    "kernel_fixed": "由 {source} 决定：它的第一个 Conv3d 层是 {kt}×{kh}×{kw}。",
    "kernel_free": "教学卷积核可以取任意尺寸。",
    "out_channel_info": "0 到 {last}：这个卷积核有 {groups} 个输出通道（卷积核组）；0 是第一个。",
    "out_channel_one": "0：这个卷积核只有一个输出通道。",
    "step_info": "第 1 到 {steps} 步：卷积核所在的位置。",
    "input_grid": "输入网格 T×H×W = {t}×{h}×{w}",
    "parameters": "这一层的**参数量**（C = {channels} 个输入通道，K = {groups} 个卷积核组）",
    "ratio": "3D / 2D 之比 = {ratio}",
    "params": "个参数",
    "plan_caption": "{source} · {kernel} · {t}×{h}×{w} 个格子",
    "compare_running": "正在用 **{count}** 个网络对比 …（已完成 {done}/{count}）",
    "compare_done": "**已对比：** {source}，共 {count} 个网络。",
    "compare_partial": "**已对比：** {source}；{count} 个网络中有 {failed} 个无法运行（各列说明了原因）。",
    "compare_nothing": "**尚无对比。** 选择一个示例或上传图像，然后点击 **对比**。",
    "compare_stale": "**此输入尚无对比：** 点击 **对比**。",
    "column_failed": "**无法在本机运行：** {short}",
    "column_waiting": "*{model}：等待中 …*",
    "error_input": "无法使用这个输入（原因见下方英文详细信息）。请换一个文件，或检查文件是否完整。",
    "error_weights_absent": "**{model}** 的权重不在本机，现在也无法下载。",
    "error_weights": "模型权重有问题（原因见下方英文详细信息）。",
    "error_model": "找不到这个模型（原因见下方英文详细信息）。",
    "error_internal": "服务器出错了（是程序的错误，不是你的输入的问题）。请重试；服务器日志里有详细信息。",
    "error_first": "请先分析一个输入。",
    "error_what_next": "怎么办：{what}",
    "upload_first": "请先上传图像或选择一个示例",
}


def language(lang: str | None) -> Lang:
    """``lang`` if the app has it, else English (a page that sends nothing, or an API call)."""
    return lang if lang in LANGS else "en"  # type: ignore[return-value]


def say(lang: str | None, key: str, /, **values: object) -> str:
    """The phrase ``key`` in the reader's language, with ``values`` filled in."""
    table = ZH if language(lang) == "zh" else EN
    return table[key].format(**values)


def percent(value: float) -> str:
    """A probability as the views write it, e.g. ``42.0%``."""
    return f"{value:.1%}"
