"""Figures the lessons import, so the lessons keep to autograd and not to matplotlib.

Labels are Chinese when the CJK font WenQuanYi Micro Hei (Debian: fonts-wqy-microhei) is installed,
and English otherwise: without a CJK font matplotlib would draw empty boxes instead of Chinese.
"""
import matplotlib.pyplot as plt
from matplotlib import font_manager

CJK_FONT = "WenQuanYi Micro Hei"


def use_cjk_font():
    """Put CJK_FONT first in matplotlib's sans-serif list if it is installed; return whether it is."""
    def installed():
        return CJK_FONT in {f.name for f in font_manager.fontManager.ttflist}

    if not installed():  # installed after matplotlib built its font cache
        for path in font_manager.findSystemFonts():
            if "wqy-microhei" in path.lower():
                font_manager.fontManager.addfont(path)
    if not installed():
        return False
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [CJK_FONT, *plt.rcParams["font.sans-serif"]]
    plt.rcParams["axes.unicode_minus"] = False  # the CJK font has no U+2212 minus sign
    return True


CHINESE = use_cjk_font()


def zh(chinese, english):
    """The Chinese text when the CJK font is installed, else the English one."""
    return chinese if CHINESE else english


def draw_dag(nodes, edges, figsize, title=None):
    """Boxes and arrows: nodes maps a name to (x, y, text, colour); edges are (src, dst, text, colour, rad)."""
    fig, ax = plt.subplots(figsize=figsize)
    boxes = {name: ax.text(x, y, text, ha="center", va="center", fontsize=11,
                           bbox=dict(boxstyle="round,pad=0.5", fc=colour, ec="black"))
             for name, (x, y, text, colour) in nodes.items()}
    for src, dst, text, colour, rad in edges:
        ax.annotate("", xy=boxes[dst].get_position(), xytext=boxes[src].get_position(),
                    arrowprops=dict(arrowstyle="-|>", mutation_scale=15, shrinkA=2, shrinkB=2, color=colour,
                                    lw=1.5, connectionstyle=f"arc3,rad={rad}",
                                    patchA=boxes[src].get_bbox_patch(), patchB=boxes[dst].get_bbox_patch()))
        if text:
            (x0, y0), (x1, y1) = boxes[src].get_position(), boxes[dst].get_position()
            # the middle of an arc3 curve lies rad * length to the right of the chord's midpoint
            mx, my = (x0 + x1) / 2 + rad * (y1 - y0) / 2, (y0 + y1) / 2 - rad * (x1 - x0) / 2
            if y0 == y1:  # a horizontal arrow: its text goes above it, not over the boxes
                my += 0.22
            ax.text(mx, my, text, ha="center", va="center", fontsize=9, color=colour,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    xs = [x for x, _, _, _ in nodes.values()]
    ys = [y for _, y, _, _ in nodes.values()]
    ax.set(xlim=(min(xs) - 1.4, max(xs) + 1.4), ylim=(min(ys) - 0.8, max(ys) + 0.8))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def backward_graph(root):
    """Walk grad_fn.next_functions from root: each node's depth and the edges, in the order met."""
    depths, edges = {}, []

    def walk(node, depth):
        first_visit = node not in depths
        depths[node] = max(depths.get(node, 0), depth)
        for child, _ in node.next_functions:
            if child is None:  # an input that needs no gradient (a constant, a detached tensor)
                continue
            if first_visit:
                edges.append((node, child))
            walk(child, depth + 1)

    walk(root, 0)
    return depths, edges


def draw_backward_graph(root, leaf_names, output_name="y"):
    """Draw the backward graph PyTorch recorded from root (a grad_fn); arrows go the way gradients flow."""
    depths, edges = backward_graph(root)
    layers = {}
    for node, depth in depths.items():
        layers.setdefault(depth, []).append(node)
    nodes = {"output": (0, 1, output_name, "#d6eaff")}
    for depth, layer in layers.items():
        for i, node in enumerate(layer):
            text = type(node).__name__
            if hasattr(node, "variable"):  # AccumulateGrad stands for a leaf tensor
                text += "\n" + zh(f"（叶子 {leaf_names.get(id(node.variable), '?')}）",
                                  f"(leaf {leaf_names.get(id(node.variable), '?')})")
            nodes[node] = (1.8 * (i - (len(layer) - 1) / 2), -depth, text, "#fff3c4")
    arrows = [("output", root, "", "black", 0.0)]
    for k, (a, b) in enumerate(edges):
        # several edges between the same two nodes bend to both sides; an edge skipping a layer bends away
        rad = 0.6 * (edges[:k].count((a, b)) - (edges.count((a, b)) - 1) / 2)
        rad += 0.9 if depths[b] - depths[a] > 1 else 0
        arrows.append((a, b, "", "black", rad))
    width = max(abs(x) for x, _, _, _ in nodes.values())
    return draw_dag(nodes, arrows, figsize=(4 + 2 * width, 0.9 * len(layers) + 1.6),
                    title=zh("反向计算图：箭头是梯度流动的方向", "Backward graph: arrows show where gradients flow"))


def draw_forward_backward():
    """The concept figure of 2.5.5: y = x ⊙ x, loss = sum(y); forward in blue, backward in red."""
    blue, red = "tab:blue", "tab:red"
    dloss_dy = r"$\partial\,\mathrm{loss}/\partial\mathbf{y}$"
    nodes = {
        "x": (0, 2, zh("x（叶子，requires_grad=True）", "x (leaf, requires_grad=True)"), "#dbe9f6"),
        "y": (5.2, 2, "y = x * x\ngrad_fn=MulBackward0", "#dbe9f6"),
        "loss": (10.4, 2, zh("loss = y.sum()（标量）", "loss = y.sum() (scalar)") + "\ngrad_fn=SumBackward0",
                 "#dbe9f6"),
        "start": (10.4, 0, r"$\partial\,\mathrm{loss}/\partial\,\mathrm{loss} = 1$", "#fbe3e3"),
        "v": (5.2, 0, r"$\mathbf{v}$ = " + dloss_dy + zh(" = 全1向量", " = all ones"), "#fbe3e3"),
        "grad": (0, 0, r"x.grad += $\mathbf{v}^\top J = 2\mathbf{x}$" + "\n"
                 + zh("（下一步之前要清零）", "(zero it before the next step)"), "#fbe3e3"),
    }
    edges = [
        ("x", "y", zh("前向", "forward"), blue, 0.0),
        ("y", "loss", zh("前向", "forward"), blue, 0.0),
        ("loss", "start", zh("loss.backward()：从1开始", "loss.backward(): start from 1"), red, 0.0),
        ("start", "v", "SumBackward0", red, 0.0),
        ("v", "grad", zh(r"MulBackward0：乘以 $J=\mathrm{diag}(2\mathbf{x})$",
                         r"MulBackward0: times $J=\mathrm{diag}(2\mathbf{x})$"), red, 0.0),
    ]
    return draw_dag(nodes, edges, figsize=(12, 4.2),
                    title=zh("蓝：前向传播计算数值并记录计算图；红：反向传播沿着图往回传，得到向量–雅可比积",
                             "blue: the forward pass computes values and records the graph; "
                             "red: the backward pass walks it back (vector–Jacobian products)"))


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
         yscale="linear", fmts=("-", "m--", "g-.", "r:"), figsize=(3.5, 2.5), axes=None):
    """The book's d2l.plot, on matplotlib only: X and Y are one array or a list of arrays."""
    legend = [] if legend is None else legend
    axes = axes if axes is not None else plt.figure(figsize=figsize).gca()

    def has_one_axis(X):  # one curve rather than a list of curves
        return (hasattr(X, "ndim") and X.ndim == 1) or (isinstance(X, list) and not hasattr(X[0], "__len__"))

    if has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        axes.plot(x, y, fmt) if len(x) else axes.plot(y, fmt)
    axes.set(xlabel=xlabel, ylabel=ylabel, xscale=xscale, yscale=yscale, xlim=xlim, ylim=ylim)
    if legend:
        axes.legend(legend)
    axes.grid()
    return axes
