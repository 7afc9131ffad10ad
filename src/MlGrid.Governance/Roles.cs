using MlGrid.Contracts;

namespace MlGrid.Governance;

/// <summary>What a call needs, from the narrowest grant to the widest.</summary>
public enum Permission
{
    /// <summary>Model metadata and readiness at the inference surface.</summary>
    InferenceMetadata,

    /// <summary>Running inference.</summary>
    Predict,

    /// <summary>Reading the management and tracking APIs (not keys, not the audit trail).</summary>
    Read,

    /// <summary>Changing models, datasets, endpoints, training jobs and tracking data.</summary>
    Write,

    /// <summary>Keys, the audit trail and gateway statistics.</summary>
    Administer,
}

public static class Roles
{
    public static bool Grants(Role role, Permission permission) => permission switch
    {
        Permission.InferenceMetadata => true,
        Permission.Predict => role is Role.Predictor or Role.Editor or Role.Admin,
        Permission.Read => role is Role.Reader or Role.Editor or Role.Admin,
        Permission.Write => role is Role.Editor or Role.Admin,
        _ => role is Role.Admin,
    };

    /// <summary>The roles that hold a permission, least privileged first: what a refusal tells the caller to use.</summary>
    public static IReadOnlyList<Role> Holding(Permission permission) =>
        [.. Enum.GetValues<Role>().Where(r => Grants(r, permission))];

    public static string Name(Role role) => role switch
    {
        Role.Predictor => "predictor",
        Role.Reader => "reader",
        Role.Editor => "editor",
        _ => "admin",
    };

    public static bool TryParse(string? text, out Role role)
    {
        foreach (var candidate in Enum.GetValues<Role>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                role = candidate;
                return true;
            }
        }

        role = default;
        return false;
    }

    /// <summary>"editor or admin": the roles that may make a call, for refusal messages.</summary>
    public static string Describe(Permission permission)
    {
        var names = Holding(permission).Select(Name).ToList();
        return names.Count == 1 ? names[0] : string.Join(", ", names[..^1]) + " or " + names[^1];
    }
}
