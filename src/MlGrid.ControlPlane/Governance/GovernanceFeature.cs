using MlGrid.Governance;

namespace MlGrid.ControlPlane.Governance;

/// <summary>What the governance middleware learns about a call, for the handlers and the audit trail.</summary>
public sealed class GovernanceFeature
{
    /// <summary>How the audit trail names a caller the control plane could not identify.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>Who the gateway says is calling; null until the call's gateway identity has been checked.</summary>
    public Principal? Principal { get; set; }

    /// <summary>The reason the control plane itself refused the call, when it did.</summary>
    public string? Refusal { get; set; }

    /// <summary>What a handler wants the audit trail to say about the call; never a secret, never a request body.</summary>
    public string? AuditDetail { get; set; }
}

public static class GovernanceHttpContextExtensions
{
    /// <summary>The call's governance feature, created on first use.</summary>
    public static GovernanceFeature Governance(this HttpContext context)
    {
        if (context.Features.Get<GovernanceFeature>() is not { } feature)
        {
            feature = new GovernanceFeature();
            context.Features.Set(feature);
        }

        return feature;
    }

    /// <summary>Who is calling, as checked by the gateway-identity middleware.</summary>
    public static Principal? GetPrincipal(this HttpContext context) => context.Features.Get<GovernanceFeature>()?.Principal;

    /// <summary>The id that correlates this call across gateway, control plane and audit trail.</summary>
    public static string GetRequestId(this HttpContext context) =>
        context.Request.Headers[ForwardedIdentity.RequestIdHeader] is [{ Length: > 0 } id] ? id : context.TraceIdentifier;

    /// <summary>Adds a sentence to the call's audit entry, e.g. which key was created.</summary>
    public static void SetAuditDetail(this HttpContext context, string detail) => context.Governance().AuditDetail = detail;
}
