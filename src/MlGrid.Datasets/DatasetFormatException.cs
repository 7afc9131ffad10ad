namespace MlGrid.Datasets;

/// <summary>A dataset that cannot be read; the message says what is wrong and, where there is one, on which line.</summary>
public sealed class DatasetFormatException : Exception
{
    public DatasetFormatException()
    {
    }

    public DatasetFormatException(string message) : base(message)
    {
    }

    public DatasetFormatException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public DatasetFormatException(long line, string message) : base(message)
    {
        Line = line;
    }

    /// <summary>The 1-based physical line the problem is on, or null when it is about the file as a whole.</summary>
    public long? Line { get; }
}
