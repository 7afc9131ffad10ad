using System.ComponentModel.DataAnnotations;
using MlGrid.Contracts;
using MlGrid.Governance;

namespace MlGrid.Gateway.Auth;

/// <summary>
/// Microsoft Entra ID access tokens as an alternative to API keys. Off unless both <see cref="TenantId"/> and
/// <see cref="Audience"/> are set (they are in Azure, not locally).
/// </summary>
public sealed class EntraIdOptions : IValidatableObject
{
    public const string Section = "Gateway:EntraId";
    public const string Scheme = "entra";

    [Required]
    public string Instance { get; set; } = "https://login.microsoftonline.com/";

    public string? TenantId { get; set; }

    /// <summary>The API's application ID URI or client id, as tokens for it carry in <c>aud</c>.</summary>
    public string? Audience { get; set; }

    /// <summary>
    /// App role value (the <c>roles</c> claim) to MlGrid role. Configured entries are added to these defaults or
    /// replace them; a token with several mapped roles gets the most privileged one.
    /// </summary>
    public Dictionary<string, string> RoleMap { get; set; } = new(StringComparer.Ordinal)
    {
        ["MlGrid.Admin"] = "admin",
        ["MlGrid.Editor"] = "editor",
        ["MlGrid.Reader"] = "reader",
        ["MlGrid.Predictor"] = "predictor",
    };

    public bool Enabled => !string.IsNullOrWhiteSpace(TenantId) && !string.IsNullOrWhiteSpace(Audience);

    public string Authority => $"{Instance.TrimEnd('/')}/{TenantId}/v2.0";

    /// <summary>The MlGrid role a token's app roles grant, or null when none of them is mapped.</summary>
    public Role? RoleFor(IEnumerable<string> appRoles)
    {
        Role? best = null;
        foreach (var appRole in appRoles)
        {
            if (RoleMap.TryGetValue(appRole, out var name) && Roles.TryParse(name, out var role) && (best is null || role > best))
            {
                best = role;
            }
        }

        return best;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Uri.TryCreate(Instance, UriKind.Absolute, out _))
        {
            yield return new ValidationResult($"{Section}:Instance must be an absolute URL.", [nameof(Instance)]);
        }

        foreach (var (appRole, name) in RoleMap)
        {
            if (!Roles.TryParse(name, out _))
            {
                yield return new ValidationResult(
                    $"{Section}:RoleMap:{appRole} is '{name}'; use one of predictor, reader, editor, admin.", [nameof(RoleMap)]);
            }
        }
    }
}
