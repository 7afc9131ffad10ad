namespace MlGrid.Training.Tests;

public sealed class TrainingPlannerTests
{
    private static TrainingSpec Spec(string task = TrainingTasks.BinaryClassification, string label = "label", string trainer = "lightgbm",
        IReadOnlyList<string>? features = null, Dictionary<string, double>? hyperparameters = null, double validation = 0.2) =>
        new(task, label, features, trainer, hyperparameters ?? [], validation);

    [Fact]
    public async Task Features_default_to_every_other_column_with_their_types()
    {
        using var data = await GeneratedDataset.CreateAsync("binary", 50, missingValues: true);

        var plan = TrainingPlanner.Plan(Spec(), data.Profile);

        Assert.Equal(["x1", "x2", "n", "city", "member"], plan.Features.Select(f => f.Name));
        Assert.Equal(["float", "float", "integer", "string", "boolean"], plan.Features.Select(f => f.Type));
        Assert.Equal([false, true, false, false, false], plan.Features.Select(f => f.HasMissingValues));
        Assert.Equal(5, plan.LabelIndex);
        Assert.Equal("lightgbm", plan.Trainer.Name);
    }

    [Fact]
    public async Task Every_problem_is_reported_at_once()
    {
        using var data = await GeneratedDataset.CreateAsync("multiclass", 50);

        var error = Assert.Throws<TrainingSpecException>(() => TrainingPlanner.Plan(
            Spec(label: "label", trainer: "lightgbm", features: ["x1", "nope", "label"], hyperparameters: new() { ["numberOfLeaves"] = 1, ["depth"] = 3 }, validation: 0.9),
            data.Profile));

        Assert.Contains(error.Problems, p => p.Contains("'numberOfLeaves' is 1", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("no hyperparameter 'depth'", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("validationFraction", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("true/false or 0/1", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("'nope' is not a column", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("cannot also be a feature", StringComparison.Ordinal));
        Assert.Equal(6, error.Problems.Count);
    }

    [Theory]
    [InlineData("regression", "lbfgs", "does not do regression")]
    [InlineData("binary-classification", "xgboost", "Unknown trainer 'xgboost'")]
    [InlineData("clustering", "lightgbm", "Unknown task 'clustering'")]
    public async Task Unknown_or_unsupported_trainers_and_tasks_are_refused(string task, string trainer, string message)
    {
        using var data = await GeneratedDataset.CreateAsync("regression", 50);

        var error = Assert.Throws<TrainingSpecException>(() => TrainingPlanner.Plan(Spec(task, trainer: trainer), data.Profile));

        Assert.Contains(error.Problems, p => p.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Labels_must_suit_the_task()
    {
        using var multiclass = await GeneratedDataset.CreateAsync("multiclass", 50);
        using var regression = await GeneratedDataset.CreateAsync("regression", 50);
        using var zeroOne = await GeneratedDataset.CreateAsync("binary01", 50);

        Assert.Contains("numeric label", Assert.Throws<TrainingSpecException>(() => TrainingPlanner.Plan(Spec(TrainingTasks.Regression), multiclass.Profile)).Message, StringComparison.Ordinal);
        Assert.Contains("floats", Assert.Throws<TrainingSpecException>(() => TrainingPlanner.Plan(Spec(TrainingTasks.MulticlassClassification), regression.Profile)).Message, StringComparison.Ordinal);
        Assert.Contains("'missing' is not a column", Assert.Throws<TrainingSpecException>(() => TrainingPlanner.Plan(Spec(label: "missing"), zeroOne.Profile)).Message, StringComparison.Ordinal);
        Assert.Equal("integer", TrainingPlanner.Plan(Spec(), zeroOne.Profile).LabelType);
    }

    [Theory]
    [InlineData("numberOfIterations", 2.5, "whole number")]
    [InlineData("learningRate", 0, "between")]
    [InlineData("learningRate", double.NaN, "between")]
    public void Hyperparameters_are_checked_against_their_ranges(string name, double value, string message)
    {
        var problems = TrainerCatalog.Problems("lightgbm", TrainingTasks.Regression, new Dictionary<string, double> { [name] = value }).ToList();

        Assert.Contains(message, Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_few_rows_are_refused()
    {
        using var data = await GeneratedDataset.CreateAsync("binary", 5);

        Assert.Contains("at least 10", Assert.Throws<TrainingSpecException>(() => TrainingPlanner.Plan(Spec(), data.Profile)).Message, StringComparison.Ordinal);
    }
}
