namespace MlGrid.Tracking;

/// <summary>A tracking request that breaks MLflow's rules; the API reports it as <c>INVALID_PARAMETER_VALUE</c> (400).</summary>
public sealed class TrackingException : Exception
{
    public TrackingException()
    {
    }

    public TrackingException(string message) : base(message)
    {
    }

    public TrackingException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
