using System.Globalization;
using MlGrid.Contracts;

namespace MlGrid.Training;

/// <summary>The validation metrics each task reports, and which way is better for each.</summary>
public static class TrainingMetrics
{
    private static readonly Dictionary<string, IReadOnlyList<string>> ByTask = new(StringComparer.Ordinal)
    {
        [TrainingTasks.BinaryClassification] = ["auc", "accuracy", "f1", "log_loss"],
        [TrainingTasks.MulticlassClassification] = ["macro_accuracy", "micro_accuracy", "log_loss"],
        [TrainingTasks.Regression] = ["rmse", "mae", "r2"],
    };

    public static IReadOnlyList<string> For(string task) => ByTask.GetValueOrDefault(task) ?? [];

    /// <summary>Losses and errors are better smaller; scores are better larger.</summary>
    public static string NaturalGoal(string metric) =>
        metric is "log_loss" or "rmse" or "mae" ? SweepGoals.Minimize : SweepGoals.Maximize;
}

/// <summary>Checks a sweep against its trainer and turns it into the hyperparameters of each trial.</summary>
public static class SweepPlanner
{
    public const int MaxTrials = 100;

    /// <summary>
    /// Every trial's hyperparameters: the job's own, with the swept ones set per trial. A grid takes the first
    /// <see cref="SweepSpec.Trials"/> combinations of the listed values in order; random draws them with
    /// <paramref name="seed"/>, lists uniformly, ranges uniformly (log-uniformly with <c>log</c>), whole numbers for
    /// integer hyperparameters. Throws <see cref="TrainingSpecException"/> with every problem.
    /// </summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, double>> Trials(
        SweepSpec sweep, string task, string trainer, IReadOnlyDictionary<string, double> fixedValues, int seed)
    {
        var problems = new List<string>();
        if (sweep.Strategy is not (SweepStrategies.Grid or SweepStrategies.Random))
        {
            problems.Add($"Unknown sweep strategy '{sweep.Strategy}': use grid or random.");
        }

        if (sweep.Trials is < 1 or > MaxTrials)
        {
            problems.Add($"A sweep runs 1 to {MaxTrials} trials; it asks for {sweep.Trials}.");
        }

        if (sweep.Parallel < 1)
        {
            problems.Add($"sweep.parallel is {sweep.Parallel}; at least one trial must run at a time.");
        }

        var metrics = TrainingMetrics.For(task);
        if (metrics.Count > 0 && !metrics.Contains(sweep.Metric))
        {
            problems.Add($"A {task} sweep is judged by one of {string.Join(", ", metrics)}, not '{sweep.Metric}'.");
        }

        if (sweep.Goal is not (SweepGoals.Maximize or SweepGoals.Minimize))
        {
            problems.Add($"sweep.goal is '{sweep.Goal}'; use maximize or minimize.");
        }

        var definition = TrainerCatalog.Find(trainer);
        if (sweep.Space.Count == 0)
        {
            problems.Add("sweep.space is empty: name at least one hyperparameter and its values.");
        }

        foreach (var (name, dimension) in sweep.Space)
        {
            if (definition is not null && definition.Find(name) is null)
            {
                problems.Add($"Trainer '{definition.Name}' has no hyperparameter '{name}' to sweep: it takes {string.Join(", ", definition.Hyperparameters.Select(h => h.Name))}.");
                continue;
            }

            if (dimension.Values is { } values)
            {
                if (values.Count == 0)
                {
                    problems.Add($"sweep.space.{name} lists no values.");
                }

                if (definition is not null)
                {
                    problems.AddRange(values.Distinct().SelectMany(v =>
                        TrainerCatalog.Problems(definition.Name, task, new Dictionary<string, double> { [name] = v })
                            .Where(p => p.Contains($"'{name}'", StringComparison.Ordinal))
                            .Select(p => $"In sweep.space: {p}")));
                }
            }
            else if (dimension.Min is not { } min || dimension.Max is not { } max || !(min <= max) || !double.IsFinite(min) || !double.IsFinite(max))
            {
                problems.Add($"sweep.space.{name} needs a list of values, or a range {{\"min\": a, \"max\": b}} with a <= b.");
            }
            else if (sweep.Strategy == SweepStrategies.Grid)
            {
                problems.Add($"A grid sweep needs a list of values for '{name}', not a range; use the random strategy to sample ranges.");
            }
            else if (dimension.Log && min <= 0)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"sweep.space.{name} is sampled on a log scale, so its min must be above 0 (it is {min})."));
            }
            else if (definition?.Find(name) is { Kind: HyperparameterKind.Integer } && Math.Ceiling(min) > Math.Floor(max))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"sweep.space.{name} takes whole numbers, and none lies between {min} and {max}."));
            }
            else if (definition?.Find(name) is { } known && (min < known.Min || max > known.Max))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"sweep.space.{name} ranges from {min} to {max}; the trainer takes {known.Min} to {known.Max}."));
            }
        }

        if (problems.Count > 0)
        {
            throw new TrainingSpecException(problems);
        }

        var dimensions = sweep.Space.OrderBy(d => d.Key, StringComparer.Ordinal).ToList();
        var draws = sweep.Strategy == SweepStrategies.Grid
            ? Grid(dimensions).Take(sweep.Trials)
            : Random(dimensions, definition!, sweep.Trials, seed);
        return [.. draws.Select(draw =>
        {
            var values = new Dictionary<string, double>(fixedValues, StringComparer.Ordinal);
            foreach (var (name, value) in draw)
            {
                values[name] = value;
            }

            return (IReadOnlyDictionary<string, double>)values;
        })];
    }

    private static IEnumerable<List<KeyValuePair<string, double>>> Grid(List<KeyValuePair<string, SweepDimension>> dimensions)
    {
        IEnumerable<List<KeyValuePair<string, double>>> combinations = [[]];
        foreach (var (name, dimension) in dimensions)
        {
            var values = dimension.Values!.Distinct().ToList();
            combinations = combinations.SelectMany(c => values.Select(v => new List<KeyValuePair<string, double>>(c) { new(name, v) }));
        }

        return combinations;
    }

    private static IEnumerable<List<KeyValuePair<string, double>>> Random(
        List<KeyValuePair<string, SweepDimension>> dimensions, TrainerDefinition definition, int trials, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < trials; i++)
        {
            var draw = new List<KeyValuePair<string, double>>(dimensions.Count);
            foreach (var (name, dimension) in dimensions)
            {
                double value;
                if (dimension.Values is { } values)
                {
                    value = values[random.Next(values.Count)];
                }
                else
                {
                    var (min, max) = (dimension.Min!.Value, dimension.Max!.Value);
                    var u = random.NextDouble();
                    value = dimension.Log ? Math.Exp(Math.Log(min) + u * (Math.Log(max) - Math.Log(min))) : min + u * (max - min);
                    if (definition.Find(name)?.Kind == HyperparameterKind.Integer)
                    {
                        value = Math.Clamp(Math.Round(value), Math.Ceiling(min), Math.Floor(max));
                    }
                }

                draw.Add(new(name, value));
            }

            yield return draw;
        }
    }
}
