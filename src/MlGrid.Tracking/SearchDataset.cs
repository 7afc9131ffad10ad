namespace MlGrid.Tracking;

/// <summary>One dataset input of a run as <c>datasets.*</c> filters see it.</summary>
/// <param name="Name">The dataset's name.</param>
/// <param name="Digest">The dataset's digest.</param>
/// <param name="Context">The input's <c>mlflow.data.context</c> tag (<c>training</c>, <c>eval</c>…), null when it has none.</param>
public sealed record SearchDataset(string Name, string Digest, string? Context = null);
