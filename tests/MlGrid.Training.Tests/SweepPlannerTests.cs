using MlGrid.Contracts;

namespace MlGrid.Training.Tests;

public sealed class SweepPlannerTests
{
    private static readonly Dictionary<string, double> Fixed = new() { ["numberOfIterations"] = 30 };

    private static SweepSpec Sweep(string strategy, int trials, Dictionary<string, SweepDimension> space, string metric = "auc", string goal = SweepGoals.Maximize) =>
        new(strategy, trials, 2, space, metric, goal);

    [Fact]
    public void A_grid_takes_every_combination_in_order_on_top_of_the_fixed_hyperparameters()
    {
        var trials = SweepPlanner.Trials(
            Sweep(SweepStrategies.Grid, 100, new() { ["numberOfLeaves"] = new([4, 16]), ["learningRate"] = new([0.1, 0.2, 0.1]) }),
            TrainingTasks.BinaryClassification, "lightgbm", Fixed, seed: 1);

        Assert.Equal(4, trials.Count);
        Assert.Equal(
            [(0.1, 4.0), (0.1, 16.0), (0.2, 4.0), (0.2, 16.0)],
            trials.Select(t => (t["learningRate"], t["numberOfLeaves"])));
        Assert.All(trials, t => Assert.Equal(30, t["numberOfIterations"]));
    }

    [Fact]
    public void A_grid_stops_at_the_number_of_trials_asked_for()
    {
        var trials = SweepPlanner.Trials(
            Sweep(SweepStrategies.Grid, 3, new() { ["numberOfLeaves"] = new([4, 8, 16, 32, 64]) }),
            TrainingTasks.BinaryClassification, "lightgbm", Fixed, seed: 1);

        Assert.Equal([4.0, 8.0, 16.0], trials.Select(t => t["numberOfLeaves"]));
    }

    [Fact]
    public void Random_draws_are_seeded_inside_their_ranges_and_whole_for_integer_hyperparameters()
    {
        var sweep = Sweep(SweepStrategies.Random, 40, new()
        {
            ["numberOfLeaves"] = new(null, 4, 64),
            ["learningRate"] = new(null, 0.001, 1, Log: true),
            ["minimumExampleCountPerLeaf"] = new([5, 50]),
        });

        var trials = SweepPlanner.Trials(sweep, TrainingTasks.BinaryClassification, "lightgbm", Fixed, seed: 7);
        var again = SweepPlanner.Trials(sweep, TrainingTasks.BinaryClassification, "lightgbm", Fixed, seed: 7);
        var other = SweepPlanner.Trials(sweep, TrainingTasks.BinaryClassification, "lightgbm", Fixed, seed: 8);

        Assert.Equal(40, trials.Count);
        Assert.Equal(trials.Select(t => t["learningRate"]), again.Select(t => t["learningRate"]));
        Assert.NotEqual(trials.Select(t => t["learningRate"]), other.Select(t => t["learningRate"]));
        Assert.All(trials, t =>
        {
            Assert.InRange(t["numberOfLeaves"], 4, 64);
            Assert.Equal(Math.Floor(t["numberOfLeaves"]), t["numberOfLeaves"]);
            Assert.InRange(t["learningRate"], 0.001, 1);
            Assert.Contains(t["minimumExampleCountPerLeaf"], new[] { 5.0, 50.0 });
        });

        // Log-uniform: about half the draws fall below the geometric middle (0.0316), far more than a uniform draw would put there.
        Assert.InRange(trials.Count(t => t["learningRate"] < 0.0316), 10, 30);
    }

    [Fact]
    public void Every_problem_with_a_sweep_is_reported_at_once()
    {
        var error = Assert.Throws<TrainingSpecException>(() => SweepPlanner.Trials(
            new SweepSpec("bayes", 0, 0, new Dictionary<string, SweepDimension>
            {
                ["depth"] = new([3]),
                ["numberOfLeaves"] = new([1, 8]),
                ["learningRate"] = new(null, 0.5, 0.1),
            }, "rmse", "best"),
            TrainingTasks.BinaryClassification, "lightgbm", Fixed, seed: 1));

        Assert.Contains(error.Problems, p => p.Contains("Unknown sweep strategy 'bayes'", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("1 to 100 trials", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("sweep.parallel is 0", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("not 'rmse'", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("sweep.goal is 'best'", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("no hyperparameter 'depth'", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("'numberOfLeaves' is 1", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("sweep.space.learningRate needs a list of values, or a range", StringComparison.Ordinal));
    }

    [Fact]
    public void A_grid_refuses_ranges_and_a_log_range_must_be_positive()
    {
        var grid = Assert.Throws<TrainingSpecException>(() => SweepPlanner.Trials(
            Sweep(SweepStrategies.Grid, 4, new() { ["learningRate"] = new(null, 0.01, 0.5) }),
            TrainingTasks.BinaryClassification, "lightgbm", Fixed, seed: 1));
        Assert.Contains("grid sweep needs a list of values for 'learningRate'", Assert.Single(grid.Problems), StringComparison.Ordinal);

        var log = Assert.Throws<TrainingSpecException>(() => SweepPlanner.Trials(
            Sweep(SweepStrategies.Random, 4, new() { ["l2Regularization"] = new(null, 0, 1, Log: true) }),
            TrainingTasks.BinaryClassification, "sdca", new Dictionary<string, double>(), seed: 1));
        Assert.Contains("log scale", Assert.Single(log.Problems), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("log_loss", SweepGoals.Minimize)]
    [InlineData("rmse", SweepGoals.Minimize)]
    [InlineData("auc", SweepGoals.Maximize)]
    [InlineData("r2", SweepGoals.Maximize)]
    public void Losses_are_minimized_and_scores_maximized_by_default(string metric, string goal) =>
        Assert.Equal(goal, TrainingMetrics.NaturalGoal(metric));
}
