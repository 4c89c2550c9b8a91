/*  coordinator/cmd.h: the subcommands that live in files of their own,
    called by main.c with argv[0] = the subcommand's name. Each returns an
    exit status (common/exit_codes.h). */
#ifndef FERRY_COORDINATOR_CMD_H
#define FERRY_COORDINATOR_CMD_H

/*  ferry-coordinator history (coordinator/cmd_history.c). */
int cmd_history_main (int argc, char **argv);

/*  ferry-coordinator tune (coordinator/cmd_tune.c). */
int cmd_tune_main (int argc, char **argv);

#endif
