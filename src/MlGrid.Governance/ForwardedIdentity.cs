using MlGrid.Contracts;

namespace MlGrid.Governance;

/// <summary>
/// How the gateway tells the control plane who is calling. The gateway removes these headers from what callers send
/// and sets them itself, with the internal key that proves the request came through a gateway.
/// </summary>
public static class ForwardedIdentity
{
    public const string InternalKeyHeader = "x-mlgrid-internal-key";
    public const string PrincipalHeader = "x-mlgrid-principal";
    public const string PrincipalNameHeader = "x-mlgrid-principal-name";
    public const string RoleHeader = "x-mlgrid-role";

    /// <summary>Correlates a call across gateway, control plane and audit trail; echoed on every gateway response.</summary>
    public const string RequestIdHeader = "x-request-id";

    public static readonly IReadOnlyList<string> Headers = [InternalKeyHeader, PrincipalHeader, PrincipalNameHeader, RoleHeader];

    /// <summary>Header values for a principal; the name is URI-escaped so any display name travels as ASCII.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Encode(Principal principal) =>
    [
        new(PrincipalHeader, principal.Id),
        new(PrincipalNameHeader, Uri.EscapeDataString(principal.Name)),
        new(RoleHeader, Roles.Name(principal.Role)),
    ];

    /// <summary>The principal the headers describe, or null when they are missing or malformed.</summary>
    public static Principal? Decode(string? id, string? escapedName, string? role)
    {
        if (string.IsNullOrEmpty(id) || !Roles.TryParse(role, out var parsed))
        {
            return null;
        }

        string name;
        try
        {
            name = string.IsNullOrEmpty(escapedName) ? id : Uri.UnescapeDataString(escapedName);
        }
        catch (UriFormatException)
        {
            name = id;
        }

        return new Principal(id, name, parsed, []);
    }
}
