using System.Text.RegularExpressions;

namespace MlGrid.Contracts;

/// <summary>The one rule for names of models, endpoints and deployments: safe in URLs, blob paths and grain keys.</summary>
public static partial class Names
{
    public const int MaxLength = 63;

    public static bool IsValid(string? name) => name is not null && NamePattern().IsMatch(name);

    public static void EnsureValid(string? name, string what)
    {
        if (!IsValid(name))
        {
            throw RequestException.Invalid(
                $"'{name}' is not a valid {what} name: use 1 to {MaxLength} letters, digits, '-', '_' or '.', starting with a letter or digit.");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    private static partial Regex NamePattern();
}
