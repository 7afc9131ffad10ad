namespace MlGrid.Tracking;

/// <summary>The comparators of MLflow's filter grammar.</summary>
public enum SearchComparator
{
    /// <summary><c>=</c></summary>
    Equal,

    /// <summary><c>!=</c></summary>
    NotEqual,

    /// <summary><c>&lt;</c></summary>
    Less,

    /// <summary><c>&lt;=</c></summary>
    LessOrEqual,

    /// <summary><c>&gt;</c></summary>
    Greater,

    /// <summary><c>&gt;=</c></summary>
    GreaterOrEqual,

    /// <summary><c>LIKE</c>: a case-sensitive SQL pattern.</summary>
    Like,

    /// <summary><c>ILIKE</c>: a case-insensitive SQL pattern.</summary>
    ILike,

    /// <summary><c>IN (...)</c></summary>
    In,

    /// <summary><c>NOT IN (...)</c></summary>
    NotIn,
}
