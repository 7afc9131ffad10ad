using MlGrid.Contracts;

namespace MlGrid.Governance;

/// <summary>
/// Who is calling: an API key (<c>key_…</c>), the bootstrap admin key (<c>admin</c>), an Entra ID principal
/// (<c>entra:…</c>), or MlGrid itself acting on its own (<c>system:…</c>).
/// </summary>
/// <param name="Endpoints">For a scoped predictor key, the only endpoints it may call; empty means any.</param>
public sealed record Principal(string Id, string Name, Role Role, IReadOnlyList<string> Endpoints)
{
    public const string BootstrapAdminId = "admin";

    public static Principal BootstrapAdmin { get; } = new(BootstrapAdminId, "bootstrap admin key", Role.Admin, []);

    /// <summary>MlGrid acting on its own, e.g. an endpoint replacing a replica whose worker died.</summary>
    public static Principal System(string component) => new($"system:{component}", component, Role.Admin, []);

    public bool MayCall(string endpoint) => Endpoints.Count == 0 || Endpoints.Contains(endpoint, StringComparer.Ordinal);
}
