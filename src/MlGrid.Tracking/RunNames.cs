namespace MlGrid.Tracking;

/// <summary>Names for runs created without one, in MLflow's "adjective-noun-number" style, so runs read apart in lists.</summary>
public static class RunNames
{
    private static readonly string[] Adjectives =
    [
        "able", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "gentle", "glad", "grand", "keen",
        "kind", "lively", "lucky", "merry", "nimble", "noble", "polite", "proud", "quick", "quiet", "rare", "silent",
        "smart", "steady", "swift", "tidy", "vivid", "warm", "wise",
    ];

    private static readonly string[] Nouns =
    [
        "ant", "bat", "bear", "bee", "crane", "deer", "dove", "eel", "finch", "fox", "gull", "hare", "hawk", "heron",
        "ibis", "jay", "koi", "lark", "lynx", "mole", "moth", "newt", "otter", "owl", "panda", "quail", "robin", "seal",
        "shrew", "stork", "swan", "toad", "trout", "wasp", "wolf", "wren",
    ];

    public static string Generate(Random? random = null)
    {
        random ??= Random.Shared;
        return $"{Adjectives[random.Next(Adjectives.Length)]}-{Nouns[random.Next(Nouns.Length)]}-{random.Next(1000)}";
    }
}
