using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans.Storage;

namespace MlGrid.Hosting;

/// <summary>
/// Stores grain state as plain System.Text.Json documents, with no .NET type names in them,
/// so that state types can be renamed or moved without breaking what is stored.
/// </summary>
public sealed class JsonGrainStateSerializer : IGrainStorageSerializer
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },

        // Metric values may be NaN or infinite, which plain JSON numbers cannot hold.
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public BinaryData Serialize<T>(T? input) => BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(input, Options));

    public T Deserialize<T>(BinaryData input) =>
        JsonSerializer.Deserialize<T>(input.ToMemory().Span, Options)
        ?? throw new JsonException($"Stored state for {typeof(T).Name} is null.");
}
