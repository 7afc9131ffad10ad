namespace MlGrid.Tracking;

/// <summary>
/// Which logged point is a metric's "latest" value, the one a run shows and searches compare: the highest step, then
/// the latest timestamp, then the larger value, with NaN above every number, as MLflow decides it.
/// </summary>
public static class LatestMetric
{
    public static bool Supersedes(long step, long timestamp, double value, long currentStep, long currentTimestamp, double currentValue)
    {
        if (step != currentStep)
        {
            return step > currentStep;
        }

        if (timestamp != currentTimestamp)
        {
            return timestamp > currentTimestamp;
        }

        if (double.IsNaN(value) || double.IsNaN(currentValue))
        {
            return double.IsNaN(value) && !double.IsNaN(currentValue);
        }

        return value > currentValue;
    }
}
