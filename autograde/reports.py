"""Reports: grades.csv (a row a student, a column an item) and a table on the terminal."""
import csv

from . import gradebook


def write_grades_csv(course, assignment, path=None):
    """Write the grades table and return its path."""
    items = gradebook.items(course, assignment)
    scores = gradebook.scores(course, assignment)
    path = path or course.reports / f"{assignment}-grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student"] + [i.grade_id for i in items] + ["auto_total", "auto_max", "needs_manual_grading"])
        auto_max = sum(i.max_score for i in items if i.auto)
        for student, got in sorted(scores.items()):
            auto_total = sum(got.get(i.grade_id) or 0.0 for i in items if i.auto)
            pending = [i.grade_id for i in items if not i.auto and got.get(i.grade_id) is None]
            writer.writerow([student] + ["" if got.get(i.grade_id) is None else f"{got[i.grade_id]:g}" for i in items]
                            + [f"{auto_total:g}", f"{auto_max:g}", " ".join(pending)])
    return path


def summary_table(course, assignment):
    """One line a student: auto-graded points per notebook and in total."""
    items = gradebook.items(course, assignment)
    scores = gradebook.scores(course, assignment)
    notebooks = list(dict.fromkeys(i.notebook for i in items))
    maxima = {nb: sum(i.max_score for i in items if i.auto and i.notebook == nb) for nb in notebooks}
    header = ["student"] + [f"{nb} (/{maxima[nb]:g})" for nb in notebooks] + [f"total (/{sum(maxima.values()):g})"]
    rows = []
    for student, got in sorted(scores.items()):
        per_nb = [sum(got.get(i.grade_id) or 0.0 for i in items if i.auto and i.notebook == nb) for nb in notebooks]
        rows.append([student] + [f"{p:g}" for p in per_nb] + [f"{sum(per_nb):g}"])
    return format_table(header, rows)


def format_table(header, rows):
    widths = [max(len(str(r[k])) for r in [header] + rows) for k in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in [header] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_statuses(statuses):
    """A line per student; a submission that could not be graded says why and that it got 0."""
    for student, problem in sorted(statuses.items()):
        print(f"  {student}: " + ("graded" if problem is None else problem if problem.startswith("graded")
                                  else f"NOT GRADED, recorded as 0 ({problem})"))
    failed = sum(problem is not None and not problem.startswith("graded") for problem in statuses.values())
    if failed:
        print(f"{failed} submission(s) could not be graded: look at them, then grade again with --student.")


def write_pictures(course, assignment):
    """Two PNGs an instructor would rather look at than read: the class's score distribution, and per
    item the share of students who lost points there. Returns their paths."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [i for i in gradebook.items(course, assignment) if i.auto]
    scores = gradebook.scores(course, assignment)
    total = sum(i.max_score for i in items)
    totals = [sum(got.get(i.grade_id) or 0.0 for i in items) for got in scores.values()]
    lost = [100 * sum((got.get(i.grade_id) or 0.0) < i.max_score for got in scores.values()) / max(len(scores), 1)
            for i in items]
    course.reports.mkdir(parents=True, exist_ok=True)
    distribution = course.reports / f"{assignment}-score-distribution.png"
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(totals, bins=range(0, int(total) + 2), color="tab:blue", edgecolor="white", align="left")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set(xlabel=f"auto-graded score (max {total:g})", ylabel="students",
           title=f"{assignment}: score distribution ({len(totals)} students)")
    fig.tight_layout()
    fig.savefig(distribution, dpi=120)
    plt.close(fig)
    per_item = course.reports / f"{assignment}-points-lost-per-item.png"
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(items) + 1.2))
    ax.barh([i.grade_id.removesuffix("_test") for i in items][::-1], lost[::-1], color="tab:red")
    ax.set(xlim=(0, 100), xlabel="students who lost points here (%)", title=f"{assignment}: where points were lost")
    fig.tight_layout()
    fig.savefig(per_item, dpi=120)
    plt.close(fig)
    return distribution, per_item


def main(*, course, assignment, verbose=False):
    path = write_grades_csv(course, assignment)
    pictures = write_pictures(course, assignment)
    print(summary_table(course, assignment))
    print(f"\nGrades table: {path.relative_to(course.root)}")
    print("Pictures: " + ", ".join(str(p.relative_to(course.root)) for p in pictures))
