using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace MlGrid.Training;

/// <summary>Validation metrics after the first <see cref="Iteration"/> boosting iterations.</summary>
public sealed record IterationMetrics(int Iteration, IReadOnlyDictionary<string, double> Values);

/// <summary>
/// Per-iteration validation metrics of a boosted tree ensemble (FastTree, LightGBM; binary and regression), which
/// ML.NET's trainers compute but do not report. The trained trees are replayed one at a time over the validation
/// rows' features, so the score after k trees is the model's score had it stopped at k: AUC and accuracy for binary
/// classification (the calibrator is monotonic and ML.NET labels by score &gt; 0), RMSE for regression. The replay's
/// last point is checked against ML.NET's own evaluation; if it differs, no curve is given rather than a wrong one.
/// Linear trainers (SDCA, L-BFGS) and multiclass ensembles have none.
/// </summary>
internal static class IterationCurve
{
    private const int MaxRows = 10_000;
    private const int MaxPoints = 50;

    public static IReadOnlyList<IterationMetrics> Compute(
        ITransformer predictor,
        IDataView features,
        string featuresColumn,
        string labelColumn,
        string task,
        IReadOnlyDictionary<string, double> final,
        Action<string>? log)
    {
        var ensemble = Ensemble(predictor);
        if (ensemble is null || task == TrainingTasks.MulticlassClassification || ensemble.Trees.Count == 0)
        {
            return [];
        }

        if (ensemble.Trees.Any(t => t.CategoricalSplitFlags.Any(c => c)))
        {
            log?.Invoke("Per-iteration metrics skipped: the trees use categorical splits.");
            return [];
        }

        var rows = features.GetColumn<VBuffer<float>>(featuresColumn).Take(MaxRows).Select(v => v.DenseValues().ToArray()).ToList();
        double[] labels = task == TrainingTasks.BinaryClassification
            ? [.. features.GetColumn<bool>(labelColumn).Take(MaxRows).Select(b => b ? 1.0 : 0.0)]
            : [.. features.GetColumn<float>(labelColumn).Take(MaxRows).Select(v => (double)v)];
        if (rows.Count == 0)
        {
            return [];
        }

        var scores = Enumerable.Repeat(ensemble.Bias, rows.Count).ToArray();
        var trees = ensemble.Trees;
        var step = Math.Max(1, (int)Math.Ceiling(trees.Count / (double)MaxPoints));
        var curve = new List<IterationMetrics>();
        for (var t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            var weight = ensemble.TreeWeights[t];
            for (var r = 0; r < rows.Count; r++)
            {
                scores[r] += weight * tree.LeafValues[Leaf(tree, rows[r])];
            }

            if ((t + 1) % step == 0 || t == trees.Count - 1)
            {
                curve.Add(new IterationMetrics(t + 1, Metrics(task, scores, labels)));
            }
        }

        // Only when every validation row was replayed can the last point be held against ML.NET's numbers exactly.
        var checkedKey = task == TrainingTasks.BinaryClassification ? "accuracy" : "rmse";
        var replayed = curve[^1].Values[checkedKey];
        if (rows.Count < MaxRows && final.TryGetValue(checkedKey, out var expected)
            && Math.Abs(replayed - expected) > 1e-3 * Math.Max(1, Math.Abs(expected)))
        {
            log?.Invoke($"Per-iteration metrics skipped: replaying the trees gave {checkedKey} {replayed}, ML.NET gave {expected}.");
            return [];
        }

        return curve;
    }

    private static TreeEnsemble<RegressionTree>? Ensemble(ITransformer predictor)
    {
        var model = predictor switch
        {
            ISingleFeaturePredictionTransformer<object> single => single.Model,
            _ => null,
        };

        return model switch
        {
            CalibratedModelParametersBase<FastTreeBinaryModelParameters, PlattCalibrator> calibrated => calibrated.SubModel.TrainedTreeEnsemble,
            CalibratedModelParametersBase<LightGbmBinaryModelParameters, PlattCalibrator> calibrated => calibrated.SubModel.TrainedTreeEnsemble,
            TreeEnsembleModelParametersBasedOnRegressionTree regression => regression.TrainedTreeEnsemble,
            _ => null,
        };
    }

    /// <summary>The leaf a row reaches: left when the split feature is at most the threshold; a negative child is the complement of a leaf index.</summary>
    private static int Leaf(RegressionTree tree, float[] features)
    {
        if (tree.NumberOfLeaves <= 1)
        {
            return 0;
        }

        var node = 0;
        while (node >= 0)
        {
            var value = features[tree.NumericalSplitFeatureIndexes[node]];
            node = value <= tree.NumericalSplitThresholds[node] ? tree.LeftChild[node] : tree.RightChild[node];
        }

        return ~node;
    }

    private static Dictionary<string, double> Metrics(string task, double[] scores, double[] labels)
    {
        if (task == TrainingTasks.BinaryClassification)
        {
            var correct = 0;
            for (var i = 0; i < scores.Length; i++)
            {
                correct += (scores[i] > 0) == (labels[i] > 0.5) ? 1 : 0;
            }

            return new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["auc"] = Auc(scores, labels),
                ["accuracy"] = correct / (double)scores.Length,
            };
        }

        var squared = 0.0;
        for (var i = 0; i < scores.Length; i++)
        {
            squared += (scores[i] - labels[i]) * (scores[i] - labels[i]);
        }

        return new Dictionary<string, double>(StringComparer.Ordinal) { ["rmse"] = Math.Sqrt(squared / scores.Length) };
    }

    /// <summary>The area under the ROC curve: the chance a positive row scores above a negative one, ties counting half.</summary>
    private static double Auc(double[] scores, double[] labels)
    {
        var order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        double positives = labels.Count(l => l > 0.5), negatives = labels.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        // Sum of the positives' ranks, with tied scores sharing their average rank.
        var rankSum = 0.0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]])
            {
                end++;
            }

            var rank = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++)
            {
                if (labels[order[k]] > 0.5)
                {
                    rankSum += rank;
                }
            }

            start = end + 1;
        }

        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }
}
