namespace MlGrid.Datasets;

/// <summary>
/// A dataset that cannot be read; the message says what is wrong and where: the line of a CSV, the row group and
/// column of a Parquet file.
/// </summary>
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

    /// <summary>The 1-based physical line of a CSV the problem is on, or null (Parquet, or the file as a whole).</summary>
    public long? Line { get; }
}
