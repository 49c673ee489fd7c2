"""Reports: the grades table (a row a roster student), the terminal summary and two pictures.

All of them show the final grade of autograde/grades.py (auto + manual + extra credit − late penalty, with
the max), the number Formgrader and `nbgrader export` show. The table is UTF-8 with a BOM, so Excel on
Windows opens the Chinese as Chinese; its columns, in order:

    学号, 姓名, email, 状态 (已提交 / 迟交 / 未提交; "；成绩过期" when stale), 提交时间 (UTC), one column a notebook "NAME (/MAX)"
    (its final score), 迟交扣分, "总分 (/MAX)", 待人工评分 (grade ids waiting for a grader), then one
    column a graded cell (its score; empty: not graded yet).
"""
import csv
import unicodedata

from . import gradebook, grades, incremental, lms
from .grades import ENCODING, number


def state(grade, stale=()):
    if not grade.submitted:
        return "未提交"
    return ("迟交" if grade.seconds_late > 0 else "已提交") + ("；成绩过期" if stale else "")


def write_grades_csv(course, assignment, path=None):
    """Write the grades table and return its path."""
    items = gradebook.items(course, assignment)
    everyone = grades.final_grades(course, assignment)
    stale = incremental.stale(course, assignment)
    path = path or course.reports / f"{assignment}-grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    notebooks = everyone[0].notebooks if everyone else []
    top = sum(nb.max_score for nb in notebooks)
    with open(path, "w", newline="", encoding=ENCODING) as handle:
        writer = csv.writer(handle)
        writer.writerow(["学号", "姓名", "email", "状态", "提交时间"]
                        + [f"{nb.name} (/{number(nb.max_score)})" for nb in notebooks]
                        + ["迟交扣分", f"总分 (/{number(top)})", "待人工评分"] + [i.grade_id for i in items])
        for g in everyone:
            writer.writerow([g.student, g.name, g.email, state(g, stale.get(g.student)), g.timestamp.isoformat(" ") if g.timestamp else ""]
                            + [number(nb.final) for nb in g.notebooks]
                            + [number(g.late_penalty), number(g.final), " ".join(gid for _, gid in g.pending)]
                            + ["" if g.items.get(i.grade_id) is None else number(g.items[i.grade_id]) for i in items])
    return path


def summary_table(course, assignment):
    """One line a student: final points per notebook and in total, late penalty, questions still to grade."""
    everyone = grades.final_grades(course, assignment)
    if not everyone:
        return "（成绩库里还没有学生）"
    notebooks = everyone[0].notebooks
    header = (["学生"] + [f"{nb.name} (/{number(nb.max_score)})" for nb in notebooks]
              + ["迟交扣分", f"总分 (/{number(everyone[0].max_score)})", "待人工评分"])
    rows = [[g.student] + [number(nb.final) for nb in g.notebooks]
            + [number(g.late_penalty), number(g.final), str(len(g.pending)) if g.submitted else "未提交"]
            for g in everyone]
    return format_table(header, rows)


def pending_manual_grading(course, assignment):
    """Lines naming each question still to grade by hand, by student ('' if there is none)."""
    lines = [f"  {g.student}: " + "、".join(f"{nb}/{gid}" for nb, gid in g.pending)
             for g in grades.final_grades(course, assignment) if g.pending]
    if not lines:
        return ""
    return "待人工评分（在 Formgrader 里评分，菜单 Nbgrader → Formgrader）：\n" + "\n".join(lines)


def _width(text):
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def format_table(header, rows):
    widths = [max(_width(r[k]) for r in [header] + rows) for k in range(len(header))]
    lines = ["  ".join(str(v) + " " * (w - _width(v)) for v, w in zip(row, widths)).rstrip()
             for row in [header] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


CJK_FONTS = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "SimHei",
             "Microsoft YaHei", "PingFang SC"]


def cjk_font():
    """The name of an installed font that has Chinese glyphs (Debian: fonts-wqy-microhei), or None."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    cached = {f.fname for f in manager.ttflist}
    for path in font_manager.findSystemFonts():  # fonts installed after matplotlib built its font cache
        if path not in cached:
            try:
                manager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    installed = {f.name for f in manager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


# Picture labels: Chinese where a CJK font can draw them, else English (never boxes instead of characters).
LABELS = {
    "zh": {"score": "总分（满分 {top}）", "students": "学生人数", "distribution": "{a}：总分分布（{n} 名学生）",
           "lost": "在这道题失分的学生（%）", "where": "{a}：各题失分情况"},
    "en": {"score": "final score (max {top})", "students": "students", "distribution": "{a}: score distribution ({n} students)",
           "lost": "students who lost points here (%)", "where": "{a}: where points were lost"},
}


def write_pictures(course, assignment):
    """Two PNGs an instructor would rather look at than read: the class's final scores, and per auto-graded
    item the share of students who lost points there. Returns their paths."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    text = LABELS["zh" if font else "en"]
    style = {"font.sans-serif": [font] + plt.rcParams["font.sans-serif"]} if font else {}
    items = [i for i in gradebook.items(course, assignment) if i.auto]
    handed_in = [g for g in grades.final_grades(course, assignment) if g.submitted]
    top = handed_in[0].max_score if handed_in else sum(i.max_score for i in items)
    totals = [g.final for g in handed_in]
    lost = [100 * sum((g.items.get(i.grade_id) or 0.0) < i.max_score for g in handed_in) / max(len(handed_in), 1)
            for i in items]
    course.reports.mkdir(parents=True, exist_ok=True)
    distribution = course.reports / f"{assignment}-score-distribution.png"
    per_item = course.reports / f"{assignment}-points-lost-per-item.png"
    with plt.rc_context(style):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(totals, bins=range(0, int(top) + 2), color="tab:blue", edgecolor="white", align="left")
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set(xlabel=text["score"].format(top=number(top)), ylabel=text["students"],
               title=text["distribution"].format(a=assignment, n=len(totals)))
        fig.tight_layout()
        fig.savefig(distribution, dpi=120)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(items) + 1.2))
        ax.barh([i.grade_id.removesuffix("_test") for i in items][::-1], lost[::-1], color="tab:red")
        ax.set(xlim=(0, 100), xlabel=text["lost"], title=text["where"].format(a=assignment))
        fig.tight_layout()
        fig.savefig(per_item, dpi=120)
        plt.close(fig)
    return distribution, per_item


def main(*, course, assignment, verbose=False):
    path = write_grades_csv(course, assignment)
    pictures = write_pictures(course, assignment)
    exports = lms.write_exports(course, assignment)
    print(summary_table(course, assignment))
    pending = pending_manual_grading(course, assignment)
    if pending:
        print("\n" + pending)
    stale = incremental.stale(course, assignment)
    if stale:
        print(f"\n成绩已过期（评分后 release 的评分单元格改过）：{'、'.join(sorted(stale))}。"
              f"重新评分：{incremental.REGRADE_HINT}")
    print(f"\n成绩表：{path.relative_to(course.root)}")
    print("导入 LMS：" + "、".join(str(p.relative_to(course.root)) for p in exports) + "（Canvas、Moodle）")
    print("图：" + "、".join(str(p.relative_to(course.root)) for p in pictures))
