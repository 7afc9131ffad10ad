namespace MlGrid.Contracts;

/// <summary>What kind of caller mistake a <see cref="RequestException"/> reports; APIs map it to a status code.</summary>
public enum RequestErrorKind
{
    Invalid = 0,
    NotFound = 1,
    Conflict = 2,
    Unavailable = 3,

    /// <summary>A create that names something that already exists.</summary>
    AlreadyExists = 4,

    /// <summary>The target exists but is in a state that refuses the call (a deleted run, say).</summary>
    InvalidState = 5,
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

    public RequestException(RequestErrorKind kind, string message, Exception innerException) : base(message, innerException) => Kind = kind;

    [Id(0)]
    public RequestErrorKind Kind { get; init; }

    public static RequestException NotFound(string message) => new(RequestErrorKind.NotFound, message);

    public static RequestException Invalid(string message) => new(RequestErrorKind.Invalid, message);

    public static RequestException AlreadyExists(string message) => new(RequestErrorKind.AlreadyExists, message);

    public static RequestException InvalidState(string message) => new(RequestErrorKind.InvalidState, message);
}
