// What Talaria keeps on Node objects: the contract between the node agent,
// which writes what only the node knows, and the controller, which routes to
// the node with it.

/** The node's uplink MAC (the switch's next hop towards the node); the node agent publishes it. */
export const uplinkMacAnnotation = 'talaria.io/uplink-mac';
/**
 * The switch port that leads to the node. Only the switch's wiring knows it:
 * the controller's topology map (--node-switch-port, chart value
 * switchTopology) says it for every node; this annotation, set by an
 * operator, overrides it for one node.
 */
export const switchPortAnnotation = 'talaria.io/switch-port';
/** The node agent's Node condition: True once the programs are attached, False with the failed preflight check. */
export const agentReadyCondition = 'TalariaAgentReady';
