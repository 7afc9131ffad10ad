namespace MlGrid.Contracts;

/// <summary>What kind of caller mistake a <see cref="RequestException"/> reports; APIs map it to a status code.</summary>
public enum RequestErrorKind
{
    Invalid = 0,
    NotFound = 1,
    Conflict = 2,
    Unavailable = 3,
}

/// <summary>A request a grain refuses, with a message written for the person who sent it.</summary>
[GenerateSerializer, Alias("mlgrid.request-exception")]
public sealed class RequestException : Exception
{
    public RequestException()
    {
    }

    public RequestException(string message) : base(message)
    {
    }

    public RequestException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public RequestException(RequestErrorKind kind, string message) : base(message) => Kind = kind;

    [Id(0)]
    public RequestErrorKind Kind { get; init; }

    public static RequestException NotFound(string message) => new(RequestErrorKind.NotFound, message);

    public static RequestException Invalid(string message) => new(RequestErrorKind.Invalid, message);
}
