using System.Globalization;
using System.Text.Json;
using MlGrid.Contracts;
using MlGrid.Training;

namespace MlGrid.ControlPlane.Apis;

/// <summary>
/// Reads the body of <c>POST /api/v1/training-jobs</c> and checks it against the dataset version it names. Every
/// problem is collected, so a person fixes a spec in one go; nothing is queued while any remains.
/// </summary>
public static class TrainingJobRequest
{
    public const int DefaultMaxAttempts = 3;
    public const int MaxAttemptsLimit = 10;
    private const int MaxExperimentName = 500;

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "experiment", "dataset", "task", "label", "features", "trainer", "hyperparameters", "validationFraction",
        "registerAs", "device", "seed", "maxAttempts", "sweep",
    };

    /// <summary>The body read into a spec (dataset version not yet resolved: <c>DatasetVersion</c> 0 means latest), or the problems.</summary>
    public static (TrainingJobSpec? Spec, List<string> Problems) Read(JsonElement body)
    {
        var problems = new List<string>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            problems.Add("The body must be a JSON object describing the job, e.g. {\"experiment\": \"churn\", \"dataset\": \"churn-train@3\", \"task\": \"binary-classification\", \"label\": \"label\", \"trainer\": \"lightgbm\"}.");
            return (null, problems);
        }

        foreach (var property in body.EnumerateObject().Where(p => !Known.Contains(p.Name)))
        {
            problems.Add($"Unknown field '{property.Name}'; a job takes {string.Join(", ", Known)}.");
        }

        var experiment = String(body, "experiment", problems) ?? IExperimentCatalogGrain.DefaultExperimentName;
        if (experiment.Length is 0 or > MaxExperimentName)
        {
            problems.Add($"'experiment' must be an experiment name of 1 to {MaxExperimentName} characters.");
        }

        var (dataset, version) = DatasetRef(String(body, "dataset", problems), problems);
        var task = String(body, "task", problems);
        if (task is null)
        {
            problems.Add($"'task' is required: one of {string.Join(", ", TrainingTasks.All)}.");
        }

        var label = String(body, "label", problems);
        if (label is null)
        {
            problems.Add("'label' is required: the column to predict.");
        }

        var trainer = String(body, "trainer", problems);
        if (trainer is null)
        {
            problems.Add($"'trainer' is required: one of {string.Join(", ", TrainerCatalog.All.Select(t => t.Name))}.");
        }

        var features = Strings(body, "features", problems);
        var hyperparameters = Numbers(body, "hyperparameters", problems);
        var validationFraction = Number(body, "validationFraction", problems) ?? 0.2;
        var registerAs = String(body, "registerAs", problems);
        if (registerAs is not null && !Names.IsValid(registerAs))
        {
            problems.Add($"'registerAs' is '{registerAs}', which is not a valid model name: use letters, digits, '-', '_' and '.', starting with a letter or digit.");
        }

        var device = String(body, "device", problems) ?? Devices.Cpu;
        if (device is not (Devices.Cpu or Devices.Gpu))
        {
            problems.Add($"'device' is '{device}'; use cpu (any worker) or gpu (GPU workers only).");
        }

        var seed = Integer(body, "seed", problems) ?? 1;
        var maxAttempts = Integer(body, "maxAttempts", problems) ?? DefaultMaxAttempts;
        if (maxAttempts is < 1 or > MaxAttemptsLimit)
        {
            problems.Add($"'maxAttempts' is {maxAttempts}; it must be between 1 and {MaxAttemptsLimit}.");
        }

        var sweep = body.TryGetProperty("sweep", out var sweepElement) && sweepElement.ValueKind != JsonValueKind.Null
            ? Sweep(sweepElement, task, problems)
            : null;

        if (task is null || label is null || trainer is null || dataset is null || problems.Count > 0)
        {
            return (null, problems);
        }

        var canonicalTrainer = TrainerCatalog.Find(trainer)?.Name ?? trainer;
        return (new TrainingJobSpec(experiment, dataset, version ?? 0, task, label, features, canonicalTrainer, hyperparameters,
            validationFraction, registerAs, device, seed, maxAttempts, sweep), problems);
    }

    /// <summary>Checks the spec against the dataset version's profile, and a sweep against the trainer; the trials of a sweep.</summary>
    public static (IReadOnlyList<IReadOnlyDictionary<string, double>>? Trials, List<string> Problems) Check(TrainingJobSpec spec, DatasetVersionInfo dataset)
    {
        var problems = new List<string>();
        if (dataset.Format is not (DatasetFormats.Csv or DatasetFormats.Parquet))
        {
            problems.Add($"Dataset version {spec.DatasetRef} is {dataset.Format}; training reads CSV and Parquet dataset versions.");
        }

        try
        {
            TrainingJobSpecs.Plan(spec, dataset);
        }
        catch (TrainingSpecException ex)
        {
            problems.AddRange(ex.Problems);
        }

        IReadOnlyList<IReadOnlyDictionary<string, double>>? trials = null;
        if (spec.Sweep is { } sweep)
        {
            try
            {
                // The planner checks every listed value and range against the trainer, so each trial it gives is valid.
                trials = SweepPlanner.Trials(sweep, spec.Task, spec.Trainer, spec.Hyperparameters, spec.Seed);
            }
            catch (TrainingSpecException ex)
            {
                problems.AddRange(ex.Problems);
            }
        }

        return (problems.Count == 0 ? trials : null, problems);
    }

    private static SweepSpec? Sweep(JsonElement element, string? task, List<string> problems)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add("'sweep' must be an object: {\"strategy\": \"grid\" or \"random\", \"trials\": N, \"parallel\": K, \"space\": {...}, \"metric\": \"auc\", \"goal\": \"maximize\"}.");
            return null;
        }

        var strategy = String(element, "strategy", problems, "sweep.") ?? SweepStrategies.Grid;
        var space = new Dictionary<string, SweepDimension>(StringComparer.Ordinal);
        if (!element.TryGetProperty("space", out var spaceElement) || spaceElement.ValueKind != JsonValueKind.Object)
        {
            problems.Add("'sweep.space' is required: an object from hyperparameter name to a list of values or a {\"min\", \"max\", \"log\"} range.");
        }
        else
        {
            foreach (var property in spaceElement.EnumerateObject())
            {
                if (Dimension(property.Value) is { } dimension)
                {
                    space[property.Name] = dimension;
                }
                else
                {
                    problems.Add($"'sweep.space.{property.Name}' must be a list of numbers or an object {{\"min\": a, \"max\": b, \"log\": false}}.");
                }
            }
        }

        var gridSize = space.Values.Aggregate(1L, (n, d) => d.Values is { } v ? n * Math.Max(1, v.Distinct().Count()) : n);
        var trials = Integer(element, "trials", problems, "sweep.")
            ?? (strategy == SweepStrategies.Grid ? (int)Math.Min(gridSize, SweepPlanner.MaxTrials) : 10);
        var parallel = Integer(element, "parallel", problems, "sweep.") ?? 1;
        var metrics = task is null ? [] : TrainingMetrics.For(task);
        var metric = String(element, "metric", problems, "sweep.") ?? (metrics.Count > 0 ? metrics[0] : "");
        var goal = String(element, "goal", problems, "sweep.") ?? TrainingMetrics.NaturalGoal(metric);
        return new SweepSpec(strategy, trials, parallel, space, metric, goal);
    }

    private static SweepDimension? Dimension(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Array)
        {
            var values = new List<double>();
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out var number))
                {
                    return null;
                }

                values.Add(number);
            }

            return new SweepDimension(values);
        }

        if (value.ValueKind == JsonValueKind.Object
            && value.TryGetProperty("min", out var min) && min.ValueKind == JsonValueKind.Number
            && value.TryGetProperty("max", out var max) && max.ValueKind == JsonValueKind.Number)
        {
            var log = value.TryGetProperty("log", out var logElement) && logElement.ValueKind == JsonValueKind.True;
            return new SweepDimension(null, min.GetDouble(), max.GetDouble(), log);
        }

        return null;
    }

    private static (string? Name, int? Version) DatasetRef(string? reference, List<string> problems)
    {
        if (reference is null)
        {
            problems.Add("'dataset' is required: a dataset version as \"name@version\" (or \"name\" for its latest version).");
            return (null, null);
        }

        var at = reference.LastIndexOf('@');
        var name = at < 0 ? reference : reference[..at];
        int? version = null;
        if (at >= 0)
        {
            if (int.TryParse(reference.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0)
            {
                version = number;
            }
            else
            {
                problems.Add($"'dataset' is '{reference}'; after '@' comes a version number, as in \"{name}@3\".");
            }
        }

        if (!Names.IsValid(name))
        {
            problems.Add($"'dataset' names '{name}', which is not a valid dataset name.");
            return (null, null);
        }

        return (name, version);
    }

    private static string? String(JsonElement body, string field, List<string> problems, string prefix = "")
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"'{prefix}{field}' must be a string.");
            return null;
        }

        return value.GetString();
    }

    private static double? Number(JsonElement body, string field, List<string> problems)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number))
        {
            problems.Add($"'{field}' must be a number.");
            return null;
        }

        return number;
    }

    private static int? Integer(JsonElement body, string field, List<string> problems, string prefix = "")
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
        {
            problems.Add($"'{prefix}{field}' must be a whole number.");
            return null;
        }

        return number;
    }

    private static IReadOnlyList<string>? Strings(JsonElement body, string field, List<string> problems)
    {
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
        {
            problems.Add($"'{field}' must be a list of column names.");
            return null;
        }

        return [.. value.EnumerateArray().Select(v => v.GetString()!)];
    }

    private static Dictionary<string, double> Numbers(JsonElement body, string field, List<string> problems)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return values;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"'{field}' must be an object from hyperparameter name to number, e.g. {{\"numberOfLeaves\": 31}}.");
            return values;
        }

        foreach (var property in value.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out var number))
            {
                values[property.Name] = number;
            }
            else
            {
                problems.Add($"Hyperparameter '{property.Name}' must be a number.");
            }
        }

        return values;
    }
}
